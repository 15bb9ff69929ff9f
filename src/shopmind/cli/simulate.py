"""``shopmind simulate``: write a realistic synthetic shop into the workspace."""

from __future__ import annotations

from typing import Annotated

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stage_progress, stdout
from shopmind.cli.ingest import workspace_key
from shopmind.cli.state import state


def simulate(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(help="Organic users (fraud rings add about 1%).")] = 10_000,
    days: Annotated[int, typer.Option(help="Days of activity.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same shop.")] = 0,
    start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")] = "2025-01-01",
    items: Annotated[int, typer.Option(help="Catalogue size; 0 = users/5 (100..20000).")] = 0,
    identity: Annotated[
        float,
        typer.Option(
            help="Share of users given 1-2 more accounts on web/app/mini_program/store, with "
            "hard negatives and the truth as `person` labels (docs/identity.md); 0 = none."
        ),
    ] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Simulate users, a bilingual catalogue, sessions, a campaign with planted uplift, fraud
    rings and service tickets; ingest them and save the ground truth (labels table and
    raw/simulated_seedS/truth.json)."""
    from shopmind.simulate import SimulationConfig, simulate_shop, write_shop

    st = state(ctx)
    config = SimulationConfig(
        users=users, days=days, seed=seed, start=start, items=items, identity=identity
    )
    with stage_progress("simulate", enabled=not as_json) as progress:
        progress("generate")
        shop = simulate_shop(config)
        key = workspace_key(st, required=False) or b""
        result = write_shop(
            st.workspace, shop, key=key, pii_policy=st.settings.pii_policy, progress=progress
        )

    def render() -> None:
        print_table(
            f"simulated shop (seed {seed}) in {st.workspace.root}",
            ["table", "rows in", "loaded", "quarantined", "duplicates"],
            [
                [t, r["rows_in"], r["rows_loaded"], r["rows_quarantined"], r["duplicates_skipped"]]
                for t, r in result["ingest"].items()
            ],
        )
        truth = result["truth"]
        stdout.print(
            f"campaign {truth['campaign']['campaign_id']}: "
            f"{truth['campaign']['treated']} e-mailed, "
            f"{truth['campaign']['control']} control, planted uplift "
            f"{truth['campaign']['planted_ate']:.3f}; fraud: {truth['fraud']['users']} users in "
            f"{truth['fraud']['rings']} rings; tickets: {result['tickets']}. Truth: "
            f"{result['folder']}/truth.json",
            highlight=False,
        )

    emit(result, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
