"""What the import and export declare in the registry: the sweep that resumes imports
whose worker stopped."""

from __future__ import annotations

from crm.core.records import Sweep
from crm.transfer.importing import import_sweep

CONTRIBUTIONS = [Sweep("transfer.imports_resume", 60, import_sweep)]
