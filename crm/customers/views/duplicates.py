"""Placeholder: being written in this session."""

from django.http import HttpResponse


def duplicate_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def duplicate_scan(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def duplicate_dismiss(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def merge(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def merge_undo(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
