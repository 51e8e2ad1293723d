"""Pages of the import and the export."""
