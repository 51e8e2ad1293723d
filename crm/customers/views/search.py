"""Placeholder: being written in this session."""

from django.http import HttpResponse


def search(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def search_suggest(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
