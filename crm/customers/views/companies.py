"""Placeholder: being written in this session."""

from django.http import HttpResponse


def company_list(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def company_create(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def company_duplicate_check(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def company_detail(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def company_edit(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


def company_share(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)
