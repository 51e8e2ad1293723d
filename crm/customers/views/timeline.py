"""Placeholder: being written in this session."""

from django.http import HttpResponse


def timeline_page(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def timeline_add(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
