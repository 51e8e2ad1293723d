"""Placeholder: being written in this session."""

from django.http import HttpResponse


def custom_field_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def custom_field_create(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def custom_field_edit(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
