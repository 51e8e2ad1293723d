"""Named filters of the planner's models."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    from crm.planner.models import Absence  # noqa: F401


class AbsenceQuerySet(models.QuerySet["Absence"]):
    def live(self) -> Self:
        """Not cancelled."""
        return self.filter(cancelled_at__isnull=True)

    def on(self, day: dt.date) -> Self:
        """Live absences that include ``day``."""
        return self.live().filter(starts_on__lte=day, ends_on__gte=day)

    def overlapping(self, starts_on: dt.date, ends_on: dt.date) -> Self:
        """Live absences sharing at least one day with ``starts_on``..``ends_on``."""
        return self.live().filter(starts_on__lte=ends_on, ends_on__gte=starts_on)

    def with_people(self) -> Self:
        return self.select_related("user", "substitute", "created_by")
