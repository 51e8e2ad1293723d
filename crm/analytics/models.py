"""The analytics app's own configuration (never business data): monthly plans and the
teams' bonus rules.

Both are versioned by month: a row holds the values in force from ``effective_from`` (the
first day of a month) until the next version of the same target. A change made today
creates (or, for the same month, replaces) the version of the current or a future month;
a month that has begun before the change keeps the version that applied to it, so a closed
month's plan is never rewritten.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.analytics.metrics import METRIC_CHOICES


class MonthlyVersion(models.Model):
    """What every versioned setting holds: the month it applies from, who set it, when."""

    effective_from = models.DateField(_("from the month"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("set by"),
    )
    set_at = models.DateTimeField(_("set at"), auto_now=True)

    class Meta:
        abstract = True


class Plan(MonthlyVersion):
    """A monthly target of one KPI metric for a manager or a team (exactly one of the two),
    from ``effective_from`` on. Money metrics name a ``currency`` (the fact counts only
    that currency); counts have none."""

    metric = models.CharField(_("metric"), max_length=32, choices=METRIC_CHOICES)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="plans",
        verbose_name=_("manager"),
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="plans",
        verbose_name=_("team"),
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    target = models.DecimalField(_("target"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(manager__isnull=True, team__isnull=False)
                | Q(manager__isnull=False, team__isnull=True),
                name="plan_manager_or_team",
            ),
            models.UniqueConstraint(
                fields=["manager", "metric", "currency", "effective_from"],
                condition=Q(manager__isnull=False),
                name="plan_manager_version",
            ),
            models.UniqueConstraint(
                fields=["team", "metric", "currency", "effective_from"],
                condition=Q(team__isnull=False),
                name="plan_team_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.effective_from:%Y-%m}: {self.target}"


class BonusRule(MonthlyVersion):
    """A team's bonus rule from ``effective_from`` on: ``percent`` of a manager's revenue
    won in ``currency`` above ``threshold``, scaled by the share of their revenue plan done
    (at most 1; 1 without a plan), never more than ``cap`` (no cap when empty)."""

    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.CASCADE,
        related_name="bonus_rules",
        verbose_name=_("team"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    percent = models.DecimalField(_("percent"), max_digits=5, decimal_places=2)
    threshold = models.DecimalField(_("threshold"), max_digits=16, decimal_places=2)
    cap = models.DecimalField(_("cap"), max_digits=16, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("bonus rule")
        verbose_name_plural = _("bonus rules")
        constraints = [
            models.UniqueConstraint(
                fields=["team", "effective_from"], name="bonus_rule_team_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.effective_from:%Y-%m}: {self.percent}%"


class WeeklySummary(models.Model):
    """That a recipient's weekly e-mail summary of the week from ``week_start`` (a Monday in
    their zone) went out. The unique pair is the claim: of two schedulers only the one whose
    INSERT succeeds writes the summary (the other's waits on the unique index and fails once
    the first commits), so it is sent once per recipient and week. ``notification`` is the
    summary written (empty when there was nothing to report)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    week_start = models.DateField()
    notification = models.ForeignKey(
        "notifications.Notification", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "week_start"], name="weekly_summary_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.week_start}"
