"""Results: the versioned row schema, the crash-safe writer, the refusing reader, the manifest."""

from vlmbench.results.schema import COLUMN_NAMES, COLUMNS, SCHEMA_VERSION, Status

__all__ = ["COLUMNS", "COLUMN_NAMES", "SCHEMA_VERSION", "Status"]
