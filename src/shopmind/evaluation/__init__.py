"""Shared evaluation metrics: models never re-implement them."""
