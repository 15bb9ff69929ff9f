"""``shopmind keys``: API keys for the service (create shows the key once; only a hash is
stored), list, revoke."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stderr
from shopmind.cli.state import state
from shopmind.security import ROLES, create_key, list_keys, revoke_key
from shopmind.serving.runfile import writable
from shopmind.store import migrate
from shopmind.store.audit import AuditEntry, audited_call, cli_principal

app = typer.Typer(help="API keys for `shopmind serve` (roles: " + ", ".join(ROLES) + ").")
T = TypeVar("T")
_API = "Manage keys through the API (POST/GET/DELETE /v1/admin/keys with an admin key)"


def _audited(ctx: typer.Context, action: str, target: str | None, work: Callable[[Any], T]) -> T:
    """Run ``work(con)`` and append its audit entry in the same transaction."""
    workspace = state(ctx).workspace
    entry = AuditEntry(cli_principal(), "local", action, target, "ok")
    with writable(workspace, _API) as con:
        migrate(con)
        return audited_call(con, workspace, entry, work)


@app.command()
def create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help="One of: " + ", ".join(ROLES) + ".")],
    name: Annotated[str | None, typer.Option(help="A label (who or what uses it).")] = None,
    expires_days: Annotated[
        float | None, typer.Option(help="Days until the key stops working (default: never).")
    ] = None,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second for this key (default: serve's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key. The key is printed now and never again (only its hash is stored)."""
    lifetime = timedelta(days=expires_days) if expires_days is not None else None
    issued = _audited(
        ctx,
        "keys create",
        f"role={role}",
        lambda con: create_key(
            con,
            role,
            name=name,
            expires_in=lifetime,
            created_by=cli_principal(),
            rate_limit=rate_limit,
        ),
    )

    def render() -> None:
        stderr.print("Store this key now; it is not shown again:", highlight=False)
        typer.echo(issued.key)
        stderr.print(f"key id {issued.key_id}, role {issued.role}", highlight=False)

    emit(issued.to_dict(), as_json, render)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Keys with role, status and dates (never the key itself)."""
    rows = [k.public() for k in _audited(ctx, "keys list", None, list_keys)]

    def render() -> None:
        columns = ["key_id", "role", "name", "status", "created_at", "expires_at", "revoked_at"]
        print_table("API keys", columns, [[r[c] for c in columns] for r in rows])

    emit({"keys": rows}, as_json, render)


@app.command()
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="Key id (see `shopmind keys list`).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: the service refuses it from its next request on."""
    row = _audited(ctx, "keys revoke", f"key={key_id[:40]}", lambda con: revoke_key(con, key_id))
    emit(row.public(), as_json, lambda: typer.echo(f"revoked {row.key_id} ({row.role})"))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="keys")
