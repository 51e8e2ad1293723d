"""Placeholder: being written in this session."""

from django.http import HttpResponse


def attachment_download(request, pk):
    return HttpResponse("not yet", status=501)
