"""HTTP serving: one secured FastAPI application over a workspace (docs/service.md)."""
