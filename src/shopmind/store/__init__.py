"""Storage: the workspace (one DuckDB file) and its versioned schema."""

from shopmind.store.migrations import SCHEMA_VERSION, migrate
from shopmind.store.workspace import CANONICAL_TABLES, Workspace

__all__ = ["CANONICAL_TABLES", "SCHEMA_VERSION", "Workspace", "migrate"]
