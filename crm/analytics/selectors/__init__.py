"""Reads of the reports: each selector scopes every table it reads to the viewer (the
domain apps' ``visible_to`` policies) and aggregates in SQL."""

from crm.analytics.selectors.dashboard import Dashboard, ManagerFigures, StageFigures, dashboard_for

__all__ = ["Dashboard", "ManagerFigures", "StageFigures", "dashboard_for"]
