"""What import and export declare in the registry (``crm.core.records``): the sweep that
resumes imports whose worker stopped, the one that removes export files kept past their
day, and the external ids as a table of the full export (so a moved installation still
knows which records another CRM's file brought)."""

from __future__ import annotations

from crm.core.records import BaseTable, Sweep
from crm.transfer.exports import export_files_sweep
from crm.transfer.importing import import_sweep
from crm.transfer.models import ExternalId

CONTRIBUTIONS = [
    Sweep("transfer.imports_resume", 60, import_sweep),
    Sweep("transfer.export_files", 3600, export_files_sweep),
    # ``job`` names an import, which the export leaves out: a restore leaves it empty.
    BaseTable("external_ids", ExternalId, order=110),
]
