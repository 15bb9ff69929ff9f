"""Precision marketing: A/B test analysis, uplift targeting."""
