"""``shopmind identity link|show|merges|undo|evaluate``: one person across platforms."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import state

app = typer.Typer(
    help="Link a person's user ids across web, app, mini-program and store (keyed e-mail and "
    "phone hashes, login links) into one person id, with merge history and undo "
    "(docs/identity.md).",
    no_args_is_help=True,
)


class Pseudo(StrEnum):
    auto = "auto"
    on = "on"
    off = "off"


@app.command()
def link(
    ctx: typer.Context,
    links: Annotated[
        Path | None,
        typer.Option(help="CSV of login links: a header and two id columns (id_a,id_b)."),
    ] = None,
    pseudonymize: Annotated[
        Pseudo,
        typer.Option(help="Pseudonymise the link ids: auto = as the users were loaded."),
    ] = Pseudo.auto,
    max_ids_per_value: Annotated[
        int, typer.Option(help="An e-mail or phone held by more ids is shared: no link.")
    ] = 4,
    max_person_ids: Annotated[int, typer.Option(help="Most user ids one person may have.")] = 8,
    force: Annotated[
        bool, typer.Option("--force", help="Also redo merges undone with `identity undo`.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute persons from all evidence; new merges and splits go into the history."""
    from shopmind.features.identity import link_identities
    from shopmind.features.identity_graph import LinkRules

    st = state(ctx)
    ws = st.workspace
    report = link_identities(
        ws,
        st.settings.optional_key(ws.root),
        links=links,
        pseudonymize_links=None if pseudonymize == Pseudo.auto else pseudonymize == Pseudo.on,
        force=force,
        rules=LinkRules(max_ids_per_value=max_ids_per_value, max_person_ids=max_person_ids),
    ).to_dict()

    def render() -> None:
        stdout.print(
            f"{report['linked_ids']:,} of {report['users']:,} user ids linked into "
            f"{report['persons']:,} persons; edges used {report['edges_used']}; "
            f"{len(report['merges'])} new merge(s), {len(report['splits'])} split(s).",
            highlight=False,
        )
        if report["skipped"]:
            print_table("not used", ["why", "count"], list(report["skipped"].items()))

    emit(report, as_json, render)


@app.command()
def show(
    ctx: typer.Context,
    user_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="A user id (as stored or ingested) or a person id (p_...)."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """A person's member ids with their platform, the evidence and the merges."""
    from shopmind.features.identity_ops import show_identity

    st = state(ctx)
    candidates = [user_id]
    key = st.settings.optional_key(st.workspace.root)
    if key:
        from shopmind.privacy import pseudonymize

        candidates.append(pseudonymize(user_id, key))
    result = show_identity(st.workspace, candidates)

    def render() -> None:
        print_table(
            f"person {result['person_id']}",
            ["user_id", "platform"],
            [[m["user_id"], m["platform"]] for m in result["members"]],
        )
        if edges := result["edges"]:
            print_table(
                "evidence",
                ["kind", "id_a", "id_b", "used", "note"],
                [[e["kind"], e["id_a"], e["id_b"], e["used"], e["note"] or ""] for e in edges],
            )
        _merge_table(result["merges"])

    emit(result, as_json, render)


@app.command()
def merges(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Newest N entries.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The merge history, newest first (undone merges marked)."""
    from shopmind.features.identity_ops import list_merges

    rows = list_merges(state(ctx).workspace, limit)
    emit({"merges": rows}, as_json, lambda: _merge_table(rows))


@app.command()
def undo(ctx: typer.Context, merge_id: str, as_json: JsonOption = False) -> None:
    """Split a merge back; the ids stay apart on later links unless `identity link --force`."""
    from shopmind.features.identity_ops import undo_merge
    from shopmind.store.audit import cli_principal

    result = undo_merge(state(ctx).workspace, merge_id, cli_principal())
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"merge {merge_id} undone: split into {len(result['split_into'])} group(s).",
            highlight=False,
        ),
    )


@app.command()
def evaluate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Pairwise precision / recall / F1 of the merges against the planted persons."""
    from shopmind.features.identity_eval import evaluate_links

    result = evaluate_links(state(ctx).workspace)
    emit(
        result,
        as_json,
        lambda: print_table(
            "identity merges vs planted persons (pairwise)",
            ["measure", "value"],
            [[k, f"{v:.4f}" if isinstance(v, float) else v] for k, v in result.items()],
        ),
    )


def _merge_table(rows: list[dict[str, Any]]) -> None:
    print_table(
        "merges",
        ["merge_id", "action", "person_id", "before", "after", "reason", "undone"],
        [
            [
                m["merge_id"],
                m["action"],
                m["person_id"],
                len(m["members_before"]),
                sum(len(g) for g in m["members_after"]),
                m["reason"],
                m["undone_at"] or "",
            ]
            for m in rows
        ],
    )


def register(root: typer.Typer) -> None:
    """Add this module's commands to ``root``."""
    root.add_typer(app, name="identity")
