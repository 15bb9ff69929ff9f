"""``shopmind items exclude|include|list``: which items are products (non-product lines)."""

from __future__ import annotations

from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stdout
from shopmind.cli.state import state

app = typer.Typer(
    help="The exclusion list: non-product lines (postage, fees, vouchers...) that are never "
    "recommended nor counted as best-selling products.",
    no_args_is_help=True,
)
ItemsArg = Annotated[list[str], typer.Argument(help="Item ids.")]


@app.command()
def exclude(
    ctx: typer.Context,
    items: ItemsArg,
    reason: Annotated[str, typer.Option(help="Why, e.g. 'gift wrap fee'.")] = "excluded by user",
    as_json: JsonOption = False,
) -> None:
    """Mark items as non-products (takes effect at the next `recommend train`)."""
    _set(ctx, items, False, reason, as_json)


@app.command()
def include(ctx: typer.Context, items: ItemsArg, as_json: JsonOption = False) -> None:
    """Mark items as products again, overriding the format's recognition."""
    _set(ctx, items, True, None, as_json)


def _set(
    ctx: typer.Context, items: list[str], eligible: bool, reason: str | None, as_json: bool
) -> None:
    from shopmind.features.eligibility import set_eligibility

    ws = state(ctx).workspace.init()
    with ws.connect() as con:
        n = set_eligibility(con, items, eligible, reason)
    result = {"items": n, "eligible": eligible, "reason": reason}
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"{n} item(s) marked {'eligible' if eligible else 'not eligible'}; retrain the "
            "recommender (`shopmind recommend train`) to apply.",
            highlight=False,
        ),
    )


@app.command(name="list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Items with a recorded decision: excluded ones first, with reason and source."""
    from shopmind.features.eligibility import eligibility_table

    with state(ctx).workspace.connect(read_only=True) as con:
        rows = eligibility_table(con)
    emit(
        {"items": rows},
        as_json,
        lambda: print_table(
            f"item eligibility ({sum(not r['eligible'] for r in rows)} excluded)",
            ["item_id", "eligible", "reason", "source"],
            [[r["item_id"], r["eligible"], r["reason"], r["source"]] for r in rows],
        ),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="items")
