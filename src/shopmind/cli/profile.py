"""``shopmind profile USER_ID``: one user's tags from ``user_profiles``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shopmind.cli._output import print_json, print_table
from shopmind.cli.state import state
from shopmind.errors import ShopmindError
from shopmind.privacy import pseudonymize


def profile(
    ctx: typer.Context,
    user_id: Annotated[
        str,
        typer.Argument(
            help="User id as stored, or the raw id when the pseudonymisation key is set."
        ),
    ],
    per: Annotated[
        str,
        typer.Option(
            "--per", help="user: stored tags; person: computed now over all linked accounts."
        ),
    ] = "user",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Favourite category and brand, price band, active hours, lifecycle, RFM and CLV band."""
    st = state(ctx)
    ws = st.workspace
    if per == "person":
        return _person(st, user_id, as_json)
    if per != "user":
        raise ShopmindError(f"Unknown --per {per}.", hint="Use user or person.")
    with ws.connect(read_only=True) as con:
        if con.execute("SELECT count(*) FROM user_profiles").fetchone() == (0,):
            raise ShopmindError(
                "No user profiles yet.", hint="Compute them with `shopmind analyze profiles`."
            )
        candidates = [user_id]
        key = st.settings.optional_key(ws.root)
        if key:
            candidates.append(pseudonymize(user_id, key))
        cursor = con.execute(
            "SELECT * FROM user_profiles WHERE user_id IN (SELECT unnest(?))", [candidates]
        )
        names = [d[0] for d in cursor.description]
        row = cursor.fetchone()
    if row is None:
        raise ShopmindError(
            f"No profile for user '{user_id}'.",
            hint='Check the id (`shopmind sql "SELECT user_id FROM user_profiles LIMIT 5"`).',
        )
    record: dict[str, Any] = dict(zip(names, row, strict=True))
    if as_json:
        print_json(record)
        return
    print_table(
        f"profile {record['user_id']}",
        ["tag", "value"],
        [[k, v] for k, v in record.items() if k != "user_id"],
    )


def _person(st: Any, user_id: str, as_json: bool) -> None:
    from shopmind.analytics.persons import person_profile

    candidates = [user_id]
    key = st.settings.optional_key(st.workspace.root)
    if key:
        candidates.append(pseudonymize(user_id, key))
    record = person_profile(st.workspace, candidates)
    if as_json:
        print_json(record)
        return
    print_table(
        f"person {record['person_id']} ({len(record['members'])} account(s))",
        ["tag", "value"],
        [[k, v] for k, v in record.items() if k != "person_id"],
    )


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
