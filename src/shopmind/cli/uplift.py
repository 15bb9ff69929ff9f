"""``shopmind uplift train|score|evaluate``: uplift models on a tabular file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from shopmind.cli._input import read_table
from shopmind.cli._output import JsonOption, emit, print_table, stage_progress, stdout
from shopmind.cli.state import state
from shopmind.errors import ShopmindError
from shopmind.marketing.leakage import post_treatment_columns

app = typer.Typer(
    help="Uplift modelling: who responds because of the treatment.", no_args_is_help=True
)


def _require(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ShopmindError(
            f"Column(s) {', '.join(missing)} not in {path} (found: {', '.join(frame.columns)}).",
            hint="Pass the right column names (--treatment-col, --outcome, --features).",
        )


def _model_path(ctx: typer.Context) -> Path:
    return state(ctx).workspace.models_dir / "uplift" / "model.pkl"


def _predict_file(
    ctx: typer.Context, data: Path, needed: list[str]
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """The saved model, the file (checked for its features and ``needed``) and predictions."""
    from shopmind.models.uplift import UpliftModel

    model = UpliftModel.load(_model_path(ctx))
    frame = read_table(data)
    columns = list(model.feature_names_)
    _require(frame, [*needed, *columns], data)
    return model, frame, model.predict(frame[columns])


def _campaign_data(
    ctx: typer.Context, campaign: str, arm: str | None
) -> tuple[pd.DataFrame, list[str], str, list[str], str, str, dict[str, str]]:
    """(rows, features, arm column, treatments, control, outcome, columns kept out of the
    features with the reason) of a workspace campaign."""
    from shopmind.features.tables import duckdb_tables
    from shopmind.marketing.campaign import campaign_training_data

    with duckdb_tables(state(ctx).workspace) as tables:
        found = campaign_training_data(tables, campaign, arm, several=True)
    past = found.past
    return (
        found.data,
        found.features,
        "arm",
        found.treatments,
        past.control,
        "converted",
        past.excluded,
    )


@app.command()
def train(
    ctx: typer.Context,
    data: Annotated[
        Path | None, typer.Option(help="CSV or Parquet with features, treatment, outcome.")
    ] = None,
    campaign: Annotated[
        str | None,
        typer.Option(help="Learn from a workspace campaign instead (simulated or ingested)."),
    ] = None,
    arm: Annotated[str | None, typer.Option(help="--campaign: one treatment arm only.")] = None,
    treatment_col: Annotated[str | None, typer.Option(help="Column naming each row's arm.")] = None,
    treatment: Annotated[
        list[str] | None, typer.Option(help="Treatment value; repeat for several.")
    ] = None,
    control: Annotated[str | None, typer.Option(help="Control value.")] = None,
    outcome: Annotated[str | None, typer.Option(help="0/1 outcome column.")] = None,
    features: Annotated[
        list[str] | None,
        typer.Option(help="Feature columns (default: all others except outcome-like ones)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Fit T-, X-, S-learners and class transformation; keep the best by validation Qini.

    From a file (--data, --treatment-col, --treatment, --control, --outcome) or from a
    campaign in the workspace (--campaign ID [--arm ARM]): its kept covariates and, when the
    shop has events, point-in-time features at the send time."""
    from shopmind.models.uplift import UpliftModel

    if campaign is not None:
        frame, chosen, treatment_col, treatments, control, outcome, why = _campaign_data(
            ctx, campaign, arm
        )
        chosen = features or chosen
        _require(frame, chosen, Path(f"campaign {campaign}"))
        why = {} if features else why
    else:
        if data is None or not (treatment_col and treatment and control and outcome):
            raise ShopmindError(
                "Give --campaign ID, or --data with --treatment-col, --treatment, --control "
                "and --outcome.",
                hint="Example: shopmind uplift train --campaign hillstrom --arm 'Womens E-Mail'.",
            )
        treatments = list(treatment)
        frame = read_table(data)
        _require(frame, [treatment_col, outcome, *(features or [])], data)
        arms = set(frame[treatment_col].astype(str))
        for value in [*treatments, control]:
            if value not in arms:
                raise ShopmindError(
                    f"Value '{value}' not in column '{treatment_col}' of {data}.",
                    hint=f"Values present: {', '.join(sorted(arms))}.",
                )
        why = {}
        if not features:
            named = [c for c in frame.columns if c not in {treatment_col, outcome}]
            treated = frame[treatment_col].astype(str) != control
            why = post_treatment_columns(frame, named, frame[outcome], treated)
        chosen = features or [c for c in named if c not in why]
    excluded = list(why)
    if not chosen:
        raise ShopmindError("No feature columns left.", hint="Name them with --features.")
    with stage_progress("uplift train", enabled=not as_json) as progress:
        progress("model selection")
        model = UpliftModel(seed=seed).fit(
            frame[chosen], frame[treatment_col], frame[outcome], treatments, control
        )
        path = model.save(_model_path(ctx))
    result: dict[str, Any] = {
        "model": str(path),
        "campaign": campaign,
        "features": chosen,
        "excluded": excluded,
        "excluded_why": why,
        "validation_qini": model.validation_,
        "rows": len(frame),
        # the rows the models learnt from: the named arms and the control (other arms are
        # in the file, and scored, but not trained on)
        "rows_used": int(frame[treatment_col].astype(str).isin([*treatments, control]).sum()),
    }

    def render() -> None:
        for name, scores in model.validation_.items():
            print_table(
                f"{name} vs {control}: chose {scores['chosen']}",
                ["learner", "qini"],
                [[k, v] for k, v in scores.items() if k != "chosen"],
            )
        for name, reason in why.items():
            stdout.print(f"not used as a feature: {name} ({reason})", highlight=False)

    emit(result, as_json, render)


@app.command()
def score(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="CSV or Parquet with the feature columns.")],
    out: Annotated[Path, typer.Option(help="CSV to write: row,uplift[,uplift_<treatment>...].")],
    as_json: JsonOption = False,
) -> None:
    """Predicted uplift for every input row, in input order (all arms are scored)."""
    _, frame, predicted = _predict_file(ctx, data, [])
    result = pd.DataFrame({"row": np.arange(len(frame)), "uplift": predicted.iloc[:, 0]})
    if predicted.shape[1] > 1:
        for name in predicted.columns:
            result[f"uplift_{name}"] = predicted[name].to_numpy()
    result.to_csv(out, index=False)
    summary = {"out": str(out), "rows": len(result), "mean_uplift": float(result["uplift"].mean())}
    emit(
        summary,
        as_json,
        lambda: stdout.print(f"wrote {out}: {len(result):,} rows", highlight=False),
    )


@app.command()
def evaluate(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="Labelled held-out file.")],
    treatment_col: Annotated[str, typer.Option(help="Column naming each row's arm.")],
    outcome: Annotated[str, typer.Option(help="0/1 outcome column.")],
    k: Annotated[
        float, typer.Option(min=0.001, max=1.0, help="Share targeted for uplift@k (0.001 .. 1).")
    ] = 0.3,
    as_json: JsonOption = False,
) -> None:
    """Qini coefficient, AUUC and uplift@k of the trained model on held-out data."""
    from shopmind.models.uplift import evaluate as metrics

    model, frame, predicted = _predict_file(ctx, data, [treatment_col, outcome])
    arm = frame[treatment_col].astype(str).to_numpy()
    y = (pd.to_numeric(frame[outcome]).to_numpy() > 0).astype(int)
    result = {}
    for name in predicted.columns:
        rows = np.isin(arm, [name, model.control_])
        result[name] = metrics(
            y[rows], (arm[rows] == name).astype(int), predicted[name].to_numpy()[rows], k
        )
    emit(
        result,
        as_json,
        lambda: print_table(
            "held-out uplift metrics",
            ["treatment", *next(iter(result.values()))],
            [[n, *v.values()] for n, v in result.items()],
        ),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="uplift")
