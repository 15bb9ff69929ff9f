"""``shopmind serve``: the recommendation API under uvicorn (127.0.0.1 by default)."""

from __future__ import annotations

from typing import Annotated

import typer

from shopmind.cli._output import stderr
from shopmind.cli.state import state


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback by default).")
    ] = "127.0.0.1",
    model: Annotated[str | None, typer.Option(help="Model name (default: the chosen one).")] = None,
) -> None:
    """Serve recommendations over HTTP: /v1/users/{id}/recommendations, /v1/items/{id}/similar,
    POST /v1/sessions/recommendations, /health, /docs."""
    import uvicorn

    from shopmind.models.recommend.rules import ItemCatalog
    from shopmind.models.recommend.workflow import load_model
    from shopmind.serving.app import create_app

    workspace = state(ctx).workspace
    recommender = load_model(workspace, model)
    with workspace.connect(read_only=True) as con:
        has_items = con.execute("SELECT count(*) FROM items").fetchone()
        catalog = (
            ItemCatalog.load(con, recommender.data_.item_ids)
            if has_items and has_items[0]
            else None
        )
    stderr.print(f"serving {recommender.name} on http://{host}:{port} (docs at /docs)")
    uvicorn.run(
        create_app(recommender, catalog),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def register(root: typer.Typer) -> None:
    root.command()(serve)
