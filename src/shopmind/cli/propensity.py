"""``shopmind propensity train|score|explain``: purchase / churn propensity with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli._output import JsonOption, emit, inline, print_table, stage_progress, stdout
from shopmind.cli.state import state
from shopmind.errors import ShopmindError
from shopmind.features.tables import duckdb_tables

app = typer.Typer(help="Purchase and churn propensity with explanations.", no_args_is_help=True)


def _path(ctx: typer.Context, tabular: bool = False) -> Path:
    from shopmind.marketing.propensity_scores import model_path

    return model_path(state(ctx).workspace, tabular)


@app.command()
def train(
    ctx: typer.Context,
    target: Annotated[str, typer.Option(help="purchase or churn.")] = "purchase",
    horizon: Annotated[str, typer.Option(help="Prediction horizon: 2d, 7d, 12h...")] = "7d",
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="Test cutoff, ISO-8601 (2017-12-02T00:00:00+08:00; without an offset read as "
            "UTC). Default: one horizon before the last event."
        ),
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Tabular mode: a labelled file.")] = None,
    label: Annotated[str | None, typer.Option(help="Tabular mode: the label column.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Train LightGBM (+ logistic and recency baselines); report test AUC, PR-AUC, log-loss,
    calibration."""
    from shopmind.analytics.funnel import parse_window
    from shopmind.models.propensity import PropensityModel

    settings: dict[str, Any] = {
        "target": target,
        "horizon_seconds": parse_window(horizon),
        "cutoff": cutoff,
        "seed": seed,
    }
    with stage_progress("propensity train", enabled=not as_json) as progress:
        if data is not None:
            from shopmind.cli._input import read_table

            if not label:
                raise ShopmindError("Tabular mode needs --label COLUMN.")
            progress("fit (tabular)")
            model = PropensityModel(**settings).fit_frame(read_table(data), label)
            path = model.save(_path(ctx, tabular=True))
        else:
            progress("features and fit")
            with duckdb_tables(state(ctx).workspace) as tables:
                model = PropensityModel(**settings).fit(tables)
            path = model.save(_path(ctx))
    result = {
        "model": str(path),
        "target": target,
        "horizon": horizon,
        "cutoff": cutoff,
        **model.report_,
    }

    def render() -> None:
        rows: list[list[Any]] = []
        for name in ("chosen_model", "lightgbm", "logistic_regression", "recency_only"):
            if name in model.report_:
                m = model.report_[name]
                rows.append([name, m.get("roc_auc"), m.get("pr_auc"), m.get("log_loss")])
        print_table(
            f"test metrics (rows: {inline(model.report_['rows'])})",
            ["model", "ROC-AUC", "PR-AUC", "log-loss"],
            rows,
        )
        chosen = model.report_.get("chosen")
        single = model.report_.get("best_single_feature") or {}
        if chosen == "feature" and single:  # name it: "feature" alone says nothing
            chosen = (
                f"the single feature {single['feature']} ({single['direction']} is likelier; "
                f"validation ROC-AUC {single['auc']:.3f}), which the models did not beat"
            )
        if chosen:
            stdout.print(f"chosen on validation: {chosen}", highlight=False)
        if model.report_.get("cutoff_note"):
            stdout.print(
                f"cutoff {model.report_['cutoff']} ({model.report_['cutoff_note']})",
                highlight=False,
            )
        for warning in model.report_.get("shift", {}).get("warnings", []):
            stdout.print(f"warning: {warning}", highlight=False)

    emit(result, as_json, render)


@app.command()
def score(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="CSV: user_id,score,top_reasons.")],
    cutoff: Annotated[
        str | None, typer.Option(help="Score at this time (default: the training cutoff).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Tabular mode: score this file's rows with the model of `propensity train "
            "--data` (CSV: identifier columns, row, score, top_reasons)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Calibrated propensity for every user with events before the cutoff, with reasons
    (or, with --data, for every row of a file)."""
    from shopmind.marketing import propensity_scores as scoring

    if data is not None:
        from shopmind.cli._input import read_table

        scored = scoring.score_file(
            scoring.load_tabular_model(state(ctx).workspace), read_table(data)
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        scored.to_csv(out, index=False)
        rows = {"out": str(out), "rows": len(scored), "mean_score": float(scored["score"].mean())}
        emit(rows, as_json, lambda: stdout.print(f"wrote {out}: {len(scored):,} rows"))
        return
    model = scoring.load_model(state(ctx).workspace)
    with duckdb_tables(state(ctx).workspace) as tables:
        frame = scoring.score_users(model, tables, cutoff, reasons=True)
    frame.sort_values("score", ascending=False).to_csv(out, index=False)
    summary = {"out": str(out), "users": len(frame), "mean_score": float(frame["score"].mean())}
    emit(
        summary,
        as_json,
        lambda: stdout.print(f"wrote {out}: {len(frame):,} users", highlight=False),
    )


@app.command()
def explain(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="User id as stored.")],
    cutoff: Annotated[str | None, typer.Option(help="Explain at this time.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Why a user got their score: the features that pushed it most (SHAP, log-odds)."""
    from shopmind.marketing import propensity_scores as scoring

    model = scoring.load_model(state(ctx).workspace)
    with duckdb_tables(state(ctx).workspace) as tables:
        features = scoring.snapshot(model, tables, cutoff)
    row = features[features["user_id"] == user_id]
    if row.empty:
        raise ShopmindError(
            f"User '{user_id}' has no events before the cutoff.",
            hint="Check the id with `shopmind sql`.",
        )
    result: dict[str, Any] = {
        "user_id": user_id,
        "score": float(model.predict(row)[0]),
        "reasons": model.reasons(row, top=5)[0],
    }

    def render() -> None:
        stdout.print(f"{user_id}: score {result['score']:.3f}", highlight=False)
        for reason in result["reasons"]:
            stdout.print(f"  {reason['text']}", highlight=False)

    emit(result, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="propensity")
