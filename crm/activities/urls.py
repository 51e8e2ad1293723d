"""URLs of the timeline app.

None for now: the timeline and file downloads are served by the apps that own the subjects
(``customers:timeline_page``, ``customers:attachment_download``), because only they can tell
who may see a subject, and this app may not import them.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "activities"

urlpatterns: list[URLPattern | URLResolver] = []
