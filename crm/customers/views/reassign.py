"""Placeholder: being written in this session."""

from django.http import HttpResponse


def reassign(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def reassign_status(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
