"""``shopmind clv fit|predict``: customer lifetime value (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stage_progress, stdout
from shopmind.cli.state import state

app = typer.Typer(help="Customer lifetime value with PyMC-Marketing.", no_args_is_help=True)


@app.command()
def fit(
    ctx: typer.Context,
    calibration_end: Annotated[
        str | None, typer.Option(help="Last day of the calibration period (ISO date).")
    ] = None,
    holdout_end: Annotated[str | None, typer.Option(help="Last day of the holdout period.")] = None,
    time_unit: Annotated[str, typer.Option(help="D (days) or W (weeks).")] = "W",
    model: Annotated[str, typer.Option(help="bgnbd or pareto.")] = "bgnbd",
    posterior: Annotated[
        bool,
        typer.Option(
            help="Sample the full posterior (NUTS) instead of MAP; gives credible intervals."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Fit BG/NBD (or Pareto/NBD) + Gamma-Gamma; print parameters and holdout errors."""
    from shopmind.analytics.store import clv_model_dir
    from shopmind.errors import ShopmindError
    from shopmind.features.transactions import clv_transactions
    from shopmind.models.clv import CLVConfig, CLVModel

    if time_unit not in ("D", "W") or model not in ("bgnbd", "pareto"):
        raise ShopmindError(
            f"--time-unit {time_unit} / --model {model} is not a choice here.",
            hint="Use --time-unit D (days) or W (weeks), and --model bgnbd or pareto.",
        )
    ws = state(ctx).workspace
    config = CLVConfig(
        time_unit=cast(Literal["D", "W"], time_unit),
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        transaction_model=cast(Literal["bgnbd", "pareto"], model),
        method="mcmc" if posterior else "map",
    )
    with stage_progress("clv fit", enabled=not as_json) as progress:
        progress("transactions")
        tx = clv_transactions(ws)
        progress("fit")
        fitted = CLVModel(config).fit(tx)
        fitted.save(clv_model_dir(ws))
    result: dict[str, Any] = {
        **fitted.params_,
        "holdout": fitted.holdout_ or {},
        "customers": len(fitted.summary_),
        "method": config.method,
        "time_unit": time_unit,
        "calibration_end": config.calibration_end,
        "holdout_end": config.holdout_end,
    }

    def render() -> None:
        for name in ("bgnbd", "pareto_nbd", "gamma_gamma"):
            if result.get(name):
                print_table(name, list(result[name]), [list(result[name].values())])
        if result["holdout"]:
            print_table("holdout", list(result["holdout"]), [list(result["holdout"].values())])

    emit(result, as_json, render)


@app.command()
def predict(
    ctx: typer.Context,
    horizon: Annotated[str, typer.Option(help="Horizon: 12M (months) or 52W (weeks).")] = "12M",
    out: Annotated[Path, typer.Option(help="CSV to write.")] = Path("clv.csv"),
    discount_rate: Annotated[float, typer.Option(help="Monthly discount rate.")] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Per-customer P(alive), expected purchases, spend and CLV with a 94% interval."""
    from shopmind.analytics.metrics import workspace_currency
    from shopmind.analytics.store import clv_model_dir
    from shopmind.errors import ShopmindError
    from shopmind.models.clv import CLVModel

    unit, value = horizon[-1].upper(), horizon[:-1]
    try:
        months = float(value) * (12 / 52 if unit == "W" else 1.0)
        if unit not in ("M", "W") or months <= 0:
            raise ValueError
    except ValueError:
        raise ShopmindError(
            f"--horizon {horizon} is not like 12M or 52W.",
            hint="Give a positive number of months (M) or weeks (W), e.g. --horizon 12M.",
        ) from None
    model = CLVModel.load(clv_model_dir(state(ctx).workspace))
    frame = model.predict(months, discount_rate).rename(columns={"customer_id": "user_id"})
    frame.to_csv(out, index=False)
    code = workspace_currency(state(ctx).workspace)
    summary = {
        "out": str(out),
        "customers": len(frame),
        "horizon_months": months,
        "total_clv": float(frame["clv"].sum()) if "clv" in frame else None,
        "currency": code,
        "intervals": "posterior 94%"
        if model.config.method == "mcmc"
        else "point estimates (fit with --posterior for credible intervals)",
    }
    emit(
        summary,
        as_json,
        lambda: stdout.print(
            f"wrote {out}: {len(frame):,} customers, total CLV "
            + (
                f"{summary['total_clv']:,.2f} {code or '(currency unknown)'}"
                if summary["total_clv"] is not None
                else "not estimated (no spend model: too few repeat buyers)"
            )
            + f" over {months:g} months",
            highlight=False,
        ),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="clv")
