"""Access control without a web framework: API keys, roles, the permission table, rate limits.

Importable by the CLI (``shopmind keys``) and the service alike; nothing here imports FastAPI.
"""

from shopmind.security.keys import ApiKey, IssuedKey, create_key, list_keys, revoke_key
from shopmind.security.permissions import PERMISSIONS, ROLES, Role, allowed, roles_for
from shopmind.security.ratelimit import TokenBuckets

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ApiKey",
    "IssuedKey",
    "Role",
    "TokenBuckets",
    "allowed",
    "create_key",
    "list_keys",
    "revoke_key",
    "roles_for",
]
