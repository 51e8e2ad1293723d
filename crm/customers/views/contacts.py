"""Placeholder: being written in this session."""

from django.http import HttpResponse


def contact_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def contact_create(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def contact_duplicate_check(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def contact_detail(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def contact_edit(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def contact_share(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
