"""``shopmind risk``: fraud and abuse scores with reasons, rules and backtests, fraud rings,
the review queue. ``--data FILE`` is tabular mode; without it the workspace's tables are used."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stage_progress, stdout
from shopmind.cli.state import state
from shopmind.errors import ShopmindError

app = typer.Typer(
    help="Risk control: scores with reasons, rules, backtests, fraud rings, review queue.",
    no_args_is_help=True,
)
review_app = typer.Typer(help="The review queue: list, confirm, clear.", no_args_is_help=True)
app.add_typer(review_app, name="review")


_API = (
    "Score and decide through the API (POST /v1/risk/score, GET /v1/risk/reviews, "
    "POST /v1/risk/reviews/ID/confirm|clear with a risk_analyst key)"
)


def _workspace(ctx: typer.Context) -> Any:
    """The workspace, or the service's clear message when ``shopmind serve`` holds it."""
    from shopmind.serving.runfile import service_error

    workspace = state(ctx).workspace
    blocked = service_error(workspace, _API)
    if blocked is not None:
        raise blocked
    return workspace


def _tabular_path(ctx: typer.Context) -> Path:
    return state(ctx).workspace.models_dir / "risk" / "tabular.pkl"


def _config(mode: str, review_at: float | None, block_at: float | None, seed: int) -> Any:
    from shopmind.models.risk import RiskConfig

    if mode not in ("auto", "supervised", "unsupervised", "blend"):
        raise ShopmindError(
            f"Unknown --mode {mode}.", hint="Use auto, supervised, unsupervised or blend."
        )
    if review_at is not None and block_at is not None and review_at > block_at:
        raise ShopmindError(
            f"--review-at {review_at} is above --block-at {block_at}.",
            hint="Review at a lower score than you block.",
        )
    return RiskConfig.model_validate(
        {"mode": mode, "review_at": review_at, "block_at": block_at, "seed": seed}
    )


@app.command()
def train(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(help="Tabular mode: a labelled CSV/Parquet.")] = None,
    label: Annotated[str | None, typer.Option(help="Tabular mode: the label column.")] = None,
    id_col: Annotated[
        str | None, typer.Option("--id-col", help="Tabular mode: an id column (not a feature).")
    ] = None,
    mode: Annotated[str, typer.Option(help="auto, supervised, unsupervised or blend.")] = "auto",
    review_at: Annotated[float | None, typer.Option(help="Review at this score or above.")] = None,
    block_at: Annotated[float | None, typer.Option(help="Block at this score or above.")] = None,
    label_delay_days: Annotated[
        float, typer.Option(help="Workspace mode: days before a label counts as known.")
    ] = 14.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Train the risk model (LightGBM + logistic baseline, PyOD detectors, calibrated 0-100
    score) on a labelled file or on the workspace's orders and labels."""
    config = _config(mode, review_at, block_at, seed)
    with stage_progress("risk train", enabled=not as_json) as progress:
        if data is not None:
            from shopmind.cli._input import read_table
            from shopmind.risk.tabular import train_tabular

            if not label:
                raise ShopmindError(
                    "Tabular mode needs --label COLUMN.",
                    hint="Name the column that marks bad rows (1/true/yes/fraud = bad).",
                )
            progress("read")
            frame = read_table(data)
            progress("features and fit")
            risk = train_tabular(frame, label, id_col, config)
            path = risk.save(_tabular_path(ctx))
            report = risk.model.report_
        else:
            from shopmind.risk.workspace import train_workspace

            progress("features and fit")
            path, report = train_workspace(
                _workspace(ctx), config, label_delay_days=label_delay_days
            )
    result = {"model": str(path), **report}

    def render() -> None:
        stdout.print(
            f"trained {report['mode']} risk model on {report['rows']:,} rows -> {path}",
            highlight=False,
        )
        validation = report.get("validation", {})
        rows = [
            [name, m.get("roc_auc"), m.get("average_precision"), m.get("recall_at_1pct_fpr")]
            for name, m in validation.items()
            if isinstance(m, dict) and "roc_auc" in m
        ]
        if rows:
            print_table(
                f"validation ({validation.get('split')}, {validation.get('rows')} rows)",
                ["model", "ROC-AUC", "avg precision", "recall@1%FPR"],
                rows,
            )
        if validation.get("note"):
            stdout.print(f"note: {validation['note']}", highlight=False)
        for column, why in report.get("excluded_columns", {}).items():
            stdout.print(f"note: {column} is not a feature: {why}", highlight=False)

    emit(result, as_json, render)


@app.command()
def score(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="CSV to write.")],
    data: Annotated[Path | None, typer.Option(help="Tabular mode: the file to score.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Workspace mode: only orders at or after this time.")
    ] = None,
    queue: Annotated[
        bool, typer.Option(help="Workspace mode: put review/block decisions in the review queue.")
    ] = False,
    rules: Annotated[
        Path | None, typer.Option(help="A rule file (YAML): its first matching rule decides.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score every row (tabular: row,risk_score,decision,reasons in input order) or
    every order of the workspace (order_id,user_id,ts,risk_score,decision,reasons)."""
    from shopmind.risk.tabular import summary, write_csv

    if data is not None:
        from shopmind.cli._input import read_table
        from shopmind.risk.tabular import TabularRisk, score_tabular

        risk = TabularRisk.load(_tabular_path(ctx))
        frame = score_tabular(risk, read_table(data), rules=rules)
        queued = 0
    else:
        from shopmind.risk.workspace import score_workspace

        frame, queued = score_workspace(_workspace(ctx), since=since, queue=queue, rules=rules)
    write_csv(frame, out)
    result = {"out": str(out), **summary(frame), "queued": queued}

    def render() -> None:
        d = result["decisions"]
        stdout.print(
            f"wrote {out}: {result['rows']:,} rows (allow {d['allow']:,}, review {d['review']:,}, "
            f"block {d['block']:,})" + (f"; {queued:,} queued for review" if queue else ""),
            highlight=False,
        )

    emit(result, as_json, render)


@app.command()
def rings(
    ctx: typer.Context,
    min_size: Annotated[int, typer.Option(help="Smallest ring listed (accounts).")] = 3,
    max_link_accounts: Annotated[
        int, typer.Option(help="A value shared by more accounts is a hub and links nothing.")
    ] = 20,
    limit: Annotated[int, typer.Option(help="Rings shown.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Accounts linked by shared device / IP / payment / address pseudonyms (connected
    components), largest first; with fraud labels, precision and recall of ring members."""
    from shopmind.risk.workspace import list_rings

    result = list_rings(state(ctx).workspace, min_size, max_link_accounts)

    def render() -> None:
        if not result["links"]:
            stdout.print(
                "no rings can be found: the orders carry no device, IP, payment or address "
                "attribute to link accounts by (load them in the orders' attributes)",
                highlight=False,
            )
            return
        stdout.print(
            f"{len(result['rings'])} ring(s) of {min_size:,}+ accounts linked by "
            f"{', '.join(result['links'])}",
            highlight=False,
        )
        print_table(
            None,
            ["ring", "accounts", "orders", "shared values", "known bad", "members"],
            [
                [
                    r["ring_id"],
                    r["size"],
                    r["orders"],
                    ", ".join(f"{k} {v}" for k, v in r["shared_values"].items() if v),
                    f"{r['known_bad']}/{r['size']}",
                    " ".join(r["accounts"][:6]) + (" ..." if r["size"] > 6 else ""),
                ]
                for r in result["rings"][:limit]
            ],
        )
        if result.get("recovery"):
            rec = result["recovery"]
            stdout.print(
                f"against fraud labels: precision {rec['precision']:.3f}, "
                f"recall {rec['recall']:.3f}",
                highlight=False,
            )

    emit({**result, "rings": result["rings"][:limit]}, as_json, render)


@app.command()
def backtest(
    ctx: typer.Context,
    rules: Annotated[Path, typer.Option(help="Rule file (YAML).")],
    data: Annotated[
        Path | None, typer.Option(help="Tabular mode: a labelled file (default: workspace).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Tabular mode: the label column.")] = None,
    amount_col: Annotated[
        str | None, typer.Option(help="Tabular mode: the money column (for money saved).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Workspace mode: only orders at or after this time.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a rule set on labelled history: precision, recall, review and block rates,
    money saved, and per rule what it matched."""
    from shopmind.risk.backtesting import backtest_tabular, backtest_workspace

    if data is not None:
        from shopmind.cli._input import read_table
        from shopmind.risk.tabular import TabularRisk

        if not label:
            raise ShopmindError("Tabular backtests need --label COLUMN.")
        risk = TabularRisk.load(_tabular_path(ctx))
        result = backtest_tabular(risk, read_table(data), label, rules, amount_col)
        result["currency"] = None  # a file's money column carries no currency
    else:
        from shopmind.analytics.metrics import workspace_currency

        result = backtest_workspace(state(ctx).workspace, rules, since)
        result["currency"] = workspace_currency(state(ctx).workspace)
    code = result["currency"] or "currency unknown"

    def render() -> None:
        print_table(
            f"backtest of {rules} on {result['rows']:,} labelled rows ({result['bad']:,} bad)",
            [
                "precision",
                "recall",
                "review rate",
                "block rate",
                f"money saved ({code})",
                f"good value blocked ({code})",
            ],
            [
                [
                    result["precision"],
                    result["recall"],
                    result["review_rate"],
                    result["block_rate"],
                    result["money_saved"],
                    result["good_value_blocked"],
                ]
            ],
        )
        print_table(
            "rules",
            ["line", "rule", "action", "matched", "bad", "precision"],
            [
                [r["line"], r["rule"], r["action"], r["matched"], r["bad"], r["precision"]]
                for r in result["rules"]
            ],
        )

    emit(result, as_json, render)


@app.command()
def features(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(help="Tabular mode (default: workspace).")] = None,
    as_json: JsonOption = False,
) -> None:
    """The features the trained model uses (the names rules may test), with their words."""
    if data is not None or (_tabular_path(ctx).exists() and not _workspace_model(ctx).exists()):
        from shopmind.risk.tabular import TabularRisk

        model = TabularRisk.load(_tabular_path(ctx)).model
    else:
        from shopmind.risk.workspace import WorkspaceRisk

        model = WorkspaceRisk.load(state(ctx).workspace).model
    words = {name: model.words_[name] for name in model.features_}
    emit(
        {"features": words, "also": {"score": "the 0-100 risk score"}},
        as_json,
        lambda: print_table(
            None,
            ["feature", "meaning"],
            [[k, v] for k, v in words.items()] + [["score", "the 0-100 risk score"]],
        ),
    )


def _workspace_model(ctx: typer.Context) -> Path:
    return state(ctx).workspace.models_dir / "risk" / "workspace.pkl"


@review_app.command("list")
def review_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, confirmed, cleared or all.")] = "open",
    limit: Annotated[int, typer.Option(help="Rows shown.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Flagged orders waiting for (or past) a decision, riskiest first."""
    from shopmind.risk.review import list_reviews

    rows = list_reviews(_workspace(ctx), None if status == "all" else status, limit)
    emit(
        rows,
        as_json,
        lambda: print_table(
            f"{len(rows)} review(s)",
            ["review", "order", "user", "score", "decision", "status", "reasons"],
            [
                [
                    r["review_id"],
                    r["entity_id"],
                    r["user_id"],
                    round(r["score"], 2),
                    r["decision"],
                    r["status"],
                    r["reasons"],
                ]
                for r in rows
            ],
        ),
    )


def _decide(
    ctx: typer.Context, review_id: str, confirm: bool, by: str, note: str | None, as_json: bool
) -> None:
    from shopmind.risk.review import decide

    result = decide(_workspace(ctx), review_id, confirm, by, note)
    emit(
        result,
        as_json,
        lambda: stdout.print(
            f"{review_id}: {result['status']} by {by}; label fraud={result['label']} stored",
            highlight=False,
        ),
    )


@review_app.command("confirm")
def review_confirm(
    ctx: typer.Context,
    review_id: Annotated[str, typer.Argument(help="Review id (rv_...).")],
    by: Annotated[str, typer.Option(help="Analyst name.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Confirm fraud: the order is labelled bad (source review)."""
    _decide(ctx, review_id, True, by, note, as_json)


@review_app.command("clear")
def review_clear(
    ctx: typer.Context,
    review_id: Annotated[str, typer.Argument(help="Review id (rv_...).")],
    by: Annotated[str, typer.Option(help="Analyst name.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Clear: the order is labelled good (source review)."""
    _decide(ctx, review_id, False, by, note, as_json)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="risk")
