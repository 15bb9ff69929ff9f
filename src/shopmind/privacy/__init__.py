"""Privacy at the door: keyed pseudonyms for user ids, PII column protection, text redaction."""

from shopmind.privacy.pii import pii_kind, protect_pii_sql, redact_text_sql
from shopmind.privacy.pseudonymize import is_pseudonym, pseudonymize, pseudonymize_sql
from shopmind.privacy.redact import find_pii, redact_text

__all__ = [
    "find_pii",
    "is_pseudonym",
    "pii_kind",
    "protect_pii_sql",
    "pseudonymize",
    "pseudonymize_sql",
    "redact_text",
    "redact_text_sql",
]
