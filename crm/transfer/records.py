"""What import and export declare in the registry (``crm.core.records``): the sweep that
resumes imports whose worker stopped, and the one that removes export files kept past their
day."""

from __future__ import annotations

from crm.core.records import Sweep
from crm.transfer.exports import export_files_sweep
from crm.transfer.importing import import_sweep

CONTRIBUTIONS = [
    Sweep("transfer.imports_resume", 60, import_sweep),
    Sweep("transfer.export_files", 3600, export_files_sweep),
]
