"""``shopmind keys``: API keys for the service (create shows the key once; only a hash is
stored), list, revoke."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer

from shopmind.cli._output import print_json, print_table, stderr
from shopmind.cli.state import state
from shopmind.security import ROLES, create_key, list_keys, revoke_key
from shopmind.serving.runfile import writable
from shopmind.store import migrate
from shopmind.store.audit import AuditChain, AuditEntry, cli_principal, head_path

app = typer.Typer(help="API keys for `shopmind serve` (roles: " + ", ".join(ROLES) + ").")
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
_API = "Manage keys through the API (POST/GET/DELETE /v1/admin/keys with an admin key)"


def _audited(ctx: typer.Context, action: str, target: str | None, work: Callable[[Any], T]) -> T:
    """Run ``work(con)`` and append its audit entry in the same transaction."""
    workspace = state(ctx).workspace
    with writable(workspace, _API) as con:
        migrate(con)
        con.execute("BEGIN TRANSACTION")
        chain = AuditChain(con, head_path(workspace))
        try:
            result = work(con)
            chain.append(con, [AuditEntry(cli_principal(), "local", action, target, "ok")])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        chain.commit_head()
    return result


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
    as_json: JsonOpt = False,
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
    if as_json:
        print_json(issued.to_dict())
        return
    stderr.print("Store this key now; it is not shown again:", highlight=False)
    typer.echo(issued.key)
    stderr.print(f"key id {issued.key_id}, role {issued.role}", highlight=False)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Keys with role, status and dates (never the key itself)."""
    rows = [k.public() for k in _audited(ctx, "keys list", None, list_keys)]
    if as_json:
        print_json({"keys": rows})
        return
    columns = ["key_id", "role", "name", "status", "created_at", "expires_at", "revoked_at"]
    print_table("API keys", columns, [[r[c] for c in columns] for r in rows])


@app.command()
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="Key id (see `shopmind keys list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key: the service refuses it from its next request on."""
    row = _audited(ctx, "keys revoke", f"key={key_id[:40]}", lambda con: revoke_key(con, key_id))
    if as_json:
        print_json(row.public())
        return
    typer.echo(f"revoked {row.key_id} ({row.role})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="keys")
