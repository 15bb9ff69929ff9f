"""``shopmind profile USER_ID``: one user's tags from ``user_profiles``."""

from __future__ import annotations

from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table
from shopmind.cli.state import State, state
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
    as_json: JsonOption = False,
) -> None:
    """Favourite category and brand, price band, active hours, lifecycle, RFM and CLV band."""
    from shopmind.analytics.store import user_profile

    st = state(ctx)
    if per == "person":
        return _person(st, user_id, as_json)
    if per != "user":
        raise ShopmindError(f"Unknown --per {per}.", hint="Use user or person.")
    record = user_profile(st.workspace, _candidates(st, user_id))
    emit(
        record,
        as_json,
        lambda: print_table(
            f"profile {record['user_id']}",
            ["tag", "value"],
            [[k, v] for k, v in record.items() if k != "user_id"],
        ),
    )


def _person(st: State, user_id: str, as_json: bool) -> None:
    from shopmind.analytics.persons import person_profile

    record = person_profile(st.workspace, _candidates(st, user_id))
    emit(
        record,
        as_json,
        lambda: print_table(
            f"person {record['person_id']} ({len(record['members'])} account(s))",
            ["tag", "value"],
            [[k, v] for k, v in record.items() if k != "person_id"],
        ),
    )


def _candidates(st: State, user_id: str) -> list[str]:
    """The id as typed and, with a pseudonymisation key, its pseudonym."""
    key = st.settings.optional_key(st.workspace.root)
    return [user_id, pseudonymize(user_id, key)] if key else [user_id]


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
