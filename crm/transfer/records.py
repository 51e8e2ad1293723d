"""What import and export declare in the registry (``crm.core.records``): the sweep that
removes export files kept past their day."""

from __future__ import annotations

from crm.core.records import Sweep
from crm.transfer.exports import export_files_sweep

CONTRIBUTIONS = [Sweep("transfer.export_files", 3600, export_files_sweep)]
