"""The weekly e-mail summary's sweep: on Monday from 08:00 in each recipient's own zone, the
summary of the week before (``selectors.weekly``), written as a notification of the kind
``weekly`` whose e-mail copy (plain text and HTML, in the recipient's language) goes out
through the notification outbox like every other notice.

Who gets it: ``crm.accounts.selectors.weekly_summary_recipients`` (heads of sales leading a
team, unless they switched it off; administrators who switched it on). Once per recipient
and week, even with two schedulers: the ``WeeklySummary(recipient, week_start)`` row is
inserted first in the transaction that writes the summary, and the other scheduler's INSERT
fails on the unique pair. A summary missed while the scheduler was down goes out when it is
back, until the week after it ends (the next Monday 08:00 brings the next one instead).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.accounts.selectors import weekly_summary_recipients
from crm.accounts.zones import user_zone
from crm.analytics.models import WeeklySummary
from crm.analytics.selectors.weekly import STUCK_DAYS, WeekSummary, weekly_summary
from crm.notifications.models import Notification
from crm.notifications.services import absolute_url, in_language, notify

logger = logging.getLogger("crm.analytics")

SEND_AT = dt.time(8, 0)
"""The Monday hour, in the recipient's zone, from which their summary is due."""


def weekly_summary_due(user: User, now: dt.datetime) -> dt.date | None:
    """The Monday of the week whose summary is due to ``user`` at ``now`` (the week before
    the current one, from Monday ``SEND_AT`` in their zone), or None before that hour.
    Reads the user's teams as loaded (``weekly_summary_recipients`` loads them)."""
    local = now.astimezone(user_zone(user, teams=user.teams.all()))
    if local.weekday() == 0 and local.time() < SEND_AT:
        return None
    return local.date() - dt.timedelta(days=local.weekday() + 7)


def weekly_summaries_send(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Write the weekly summary of every recipient it is due to and who has not had it.

    Three queries decide who is due (recipients with their teams, the weeks already
    claimed); each due recipient is then claimed and written in a transaction of its own
    (``weekly_summary_send``), so one failing leaves the others sent and is tried again at
    the next run. Returns the counts: sent, empty (nothing to report), failed.
    """
    now = now or timezone.now()
    due: dict[int, tuple[User, dt.date]] = {}
    for user in weekly_summary_recipients():
        week_start = weekly_summary_due(user, now)
        if week_start is not None:
            due[user.pk] = (user, week_start)
    if not due:
        return {}
    earliest = min(week_start for _user, week_start in due.values())
    claimed = set(
        WeeklySummary.objects.filter(recipient_id__in=sorted(due), week_start__gte=earliest)
        .values_list("recipient_id", "week_start")
        .order_by()
    )
    counts = {"sent": 0, "empty": 0, "failed": 0}
    for user, week_start in due.values():
        if (user.pk, week_start) in claimed:
            continue
        try:
            outcome = weekly_summary_send(recipient=user, week_start=week_start, now=now)
        except Exception:  # one recipient's failure must not stop the others' summaries
            logger.exception("weekly_summary_failed user=%s week=%s", user.pk, week_start)
            counts["failed"] += 1
            continue
        if outcome in counts:
            counts[outcome] += 1
    return {name: count for name, count in counts.items() if count}


def weekly_summary_send(*, recipient: User, week_start: dt.date, now: dt.datetime) -> str:
    """Claim and write ``recipient``'s summary of the week from ``week_start``.

    One transaction: the ``WeeklySummary`` row first (the claim: a second process's INSERT
    waits on the unique pair and fails once this one commits), then the notification with
    its e-mail body, enqueued for e-mail on commit. Returns "sent", "empty" (no team to
    report on: claimed, nothing written) or "taken" (someone else claimed the week).
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = WeeklySummary.objects.create(recipient=recipient, week_start=week_start)
        except IntegrityError:
            return "taken"
        with in_language(recipient):  # the metrics' and teams' labels too
            summary = weekly_summary(recipient=recipient, now=now)
            if not summary.teams:
                return "empty"
            title, body, text, html = weekly_summary_texts(summary)
        month = f"{summary.month.start:%Y-%m}"
        run.notification = notify(
            recipient=recipient,
            kind=Notification.Kind.WEEKLY,
            title=title,
            body=body,
            url=f"{reverse('analytics:plans')}?month={month}",
            dedupe_key=f"weekly-summary:{week_start.isoformat()}",
            email_text=text,
            email_html=html,
        )
        run.save(update_fields=["notification"])
    return "sent"


def weekly_summary_texts(summary: WeekSummary) -> tuple[str, str, str, str]:
    """The title, the notice's short text, the e-mail's plain text and its HTML, in the
    active language."""
    title = _("Weekly summary: %(start)s – %(end)s") % {
        "start": formats.date_format(summary.week.start, "SHORT_DATE_FORMAT"),
        "end": formats.date_format(summary.week.end, "SHORT_DATE_FORMAT"),
    }
    context = {
        "summary": summary,
        "title": title,
        "stuck_days": STUCK_DAYS,
        "LANGUAGE_CODE": translation.get_language(),
        "notifications_url": absolute_url(reverse("notifications:notification_list")),
    }
    body = render_to_string("analytics/email/weekly_summary_notice.txt", context)
    text = render_to_string("analytics/email/weekly_summary.txt", context)
    html = render_to_string("analytics/email/weekly_summary.html", context)
    return title, _tidy(body), _tidy(text), html


def _tidy(text: str) -> str:
    """Plain text from a template: no trailing spaces, at most one empty line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
