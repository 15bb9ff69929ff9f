"""Point-in-time features from the canonical tables (Ibis expressions)."""
