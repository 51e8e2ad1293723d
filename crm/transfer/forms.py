"""Forms of the import wizard and the export."""
