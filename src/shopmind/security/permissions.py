"""Roles and the one table of permissions: every ``/v1`` route names one permission here.

Deny by default: a permission missing from the table allows nobody, and the service refuses
to start when a ``/v1`` route declares none (see ``shopmind.serving.auth``).
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "analyst", "marketer", "agent", "risk_analyst", "service"]
ROLES: tuple[str, ...] = get_args(Role)

#: permission -> roles allowed. The only place where access rights are declared.
PERMISSIONS: dict[str, frozenset[str]] = {
    # recommendations: users, similar items, anonymous sessions
    "recommend.read": frozenset({"admin", "analyst", "marketer", "service"}),
    # real-time events (machine clients and admins; agents and analysts read only)
    "events.write": frozenset({"admin", "service"}),
    # behaviour analytics: funnel, retention, RFM, trends
    "analytics.read": frozenset({"admin", "analyst", "marketer"}),
    # risk scoring (routes in serving/routes/risk.py)
    "risk": frozenset({"admin", "risk_analyst", "service"}),
    # the customer-service assistant (routes in serving/routes/assistant.py)
    "assistant": frozenset({"admin", "agent", "service"}),
    # keys and the audit trail
    "admin": frozenset({"admin"}),
    # one customer's page in the console: tags, CLV, scores, conversations (pseudonyms)
    "customers.read": frozenset({"admin", "marketer", "agent"}),
    # signing in to the web console (people, not machines: service keys cannot sign in)
    "console": frozenset({"admin", "analyst", "marketer", "agent", "risk_analyst"}),
    # audiences from plans and segments (pseudonyms only)
    "audience.read": frozenset({"admin", "marketer"}),
    # re-identification for activation: original ids and contact fields from the vault
    "audience.reveal": frozenset({"admin", "marketer"}),
    # personal-data requests: erasure, access export, retention
    "privacy.requests": frozenset({"admin"}),
    # differentially private releases of aggregates (spend the workspace's budget)
    "dp.release": frozenset({"admin", "analyst"}),
}


def roles_for(permission: str) -> frozenset[str]:
    """Roles holding ``permission`` (none for an undeclared one: deny by default)."""
    return PERMISSIONS.get(permission, frozenset())


def allowed(permission: str, role: str) -> bool:
    return role in roles_for(permission)
