"""``shopmind recommend train|evaluate|batch|next|similar``: personalised recommendation."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from shopmind.cli._output import JsonOption, emit, print_table, stderr, stdout
from shopmind.cli.state import state
from shopmind.errors import RecommendError
from shopmind.models.recommend.registry import MODELS

app = typer.Typer(help="Train, evaluate and serve recommenders.", no_args_is_help=True)

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help=f"{', '.join(MODELS)}. Default: chosen on validation.",
    ),
]


def _log(enabled: bool) -> Callable[[str], None]:
    def log(message: str) -> None:
        if enabled:
            stderr.print(f"[dim]{message}[/]", highlight=False)

    return log


NeuralOption = Annotated[
    float,
    typer.Option(
        help="Default model selection: also train a neural model (SASRec for users' "
        "histories, GRU4Rec for sessions) for up to N minutes and let it join the blend "
        "(0: fast models only)."
    ),
]


DiversityOption = Annotated[
    str | None,
    typer.Option(
        help="Diversity re-rank: mmr:LAMBDA (Maximal Marginal Relevance, lambda in [0, 1]: 1 = "
        "plain ranking; add :category or :cooccurrence to pick the item similarity) or none."
    ),
]
CapOption = Annotated[
    int | None, typer.Option(help="Diversity re-rank: at most N items per category.")
]


def _overrides(
    config: str | None, epochs: int | None, device: str | None, model: str | None = None
) -> dict[str, Any]:
    """``--config`` (JSON) with ``--epochs`` / ``--device``, checked against ``model``'s
    settings before any data is read."""
    try:
        values: dict[str, Any] = json.loads(config) if config else {}
    except json.JSONDecodeError as exc:
        raise RecommendError(
            f"--config is not JSON: {exc.msg} at character {exc.pos}.",
            hint="Write it as a JSON object, e.g. --config '{\"neighbours\": 100}'.",
        ) from None
    if not isinstance(values, dict):
        raise RecommendError(
            "--config must be a JSON object of hyperparameters.",
            hint="e.g. --config '{\"neighbours\": 100}'.",
        )
    if epochs is not None:
        values["epochs"] = epochs
    if device is not None:
        values["device"] = device
    if model is not None and values:
        from shopmind.models.recommend.registry import model_class

        model_class(model)(**values)  # ModelConfigError names the allowed settings, early
    return values


@app.command()
def train(
    ctx: typer.Context,
    model: ModelOption = None,
    split: Annotated[str, typer.Option(help="Validation split: loo or temporal.")] = "loo",
    k: Annotated[int, typer.Option(help="Cut-off of the validation NDCG.")] = 10,
    epochs: Annotated[int | None, typer.Option(help="Neural models: most epochs.")] = None,
    device: Annotated[str | None, typer.Option(help="Neural models: auto, cpu or cuda.")] = None,
    config: Annotated[
        str | None, typer.Option(help='Hyperparameters as JSON: {"window": 3}')
    ] = None,
    neural_minutes: NeuralOption = 0.0,
    engine: Annotated[
        str,
        typer.Option(
            help="duckdb, or spark (als, itemknn, popularity, trending; no tuning: the "
            "defaults plus --config; master from SHOPMIND_SPARK_MASTER)."
        ),
    ] = "duckdb",
    quiet: Annotated[bool, typer.Option(help="No progress lines on stderr.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Tune on a validation split, refit on all data and save (default: pick the best model)."""
    from shopmind.evaluation.topk import check_k
    from shopmind.models.recommend.workflow import train as run_train

    check_k(k)
    if engine not in ("duckdb", "spark"):
        raise RecommendError(f"Unknown engine '{engine}'.", hint="Use duckdb or spark.")
    if engine == "spark":
        from shopmind.models.recommend.spark import SparkSettings, train_spark

        summary = train_spark(
            state(ctx).workspace,
            model,
            settings=SparkSettings(master=state(ctx).settings.spark_master),
            overrides=_overrides(config, epochs, device, model),
            log=_log(not quiet),
        )
    else:
        summary = run_train(
            state(ctx).workspace,
            model,
            split_kind=split,
            k=k,
            overrides=_overrides(config, epochs, device, model),
            log=_log(not quiet),
            neural_minutes=neural_minutes,
        )

    def render() -> None:
        stdout.print(
            f"trained [bold]{summary['model']}[/] in {summary['seconds']} s -> {summary['path']}"
        )
        board = summary["validation"].get("leaderboard") or []
        if board:
            metric = f"validation_ndcg@{k}"
            print_table(
                "validation",
                ["model", metric, "config"],
                [[r["model"], _board_value(r, k), json.dumps(r["config"])[:80]] for r in board],
            )

    emit(summary, as_json, render)


def _board_value(row: dict[str, Any], k: int) -> str:
    """A leaderboard row's validation NDCG@k; the re-ranker's row was measured on its own
    held-out cases, against the blend there, or skipped."""
    if f"validation_ndcg@{k}" in row:
        return f"{row[f'validation_ndcg@{k}']:.4f}"
    if f"held_out_ndcg@{k}" in row:
        verdict = "kept" if row.get("kept") else "not kept"
        return (
            f"{row[f'held_out_ndcg@{k}']:.4f} vs blend {row[f'blend_held_out_ndcg@{k}']:.4f} "
            f"on {row['held_out_cases']:,} held-out cases: {verdict}"
        )
    return f"skipped: {row.get('skipped', '')}"


@app.command()
def evaluate(
    ctx: typer.Context,
    model: ModelOption = None,
    split: Annotated[str, typer.Option(help="loo (leave-one-out) or temporal.")] = "loo",
    k: Annotated[int, typer.Option(help="Cut-off k.")] = 10,
    test_days: Annotated[float, typer.Option(help="Temporal split: days of test.")] = 30.0,
    include_seen: Annotated[
        bool | None,
        typer.Option(
            "--include-seen/--exclude-seen",
            help="Rank items the user already has (default: excluded for users, kept for "
            "anonymous sessions).",
        ),
    ] = None,
    sampled: Annotated[
        int | None,
        typer.Option(
            min=1, help="Also report metrics against N sampled negatives (labelled 'sampled')."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Neural models: most epochs.")] = None,
    device: Annotated[str | None, typer.Option(help="Neural models: auto, cpu or cuda.")] = None,
    config: Annotated[str | None, typer.Option(help="Hyperparameters as JSON.")] = None,
    neural_minutes: NeuralOption = 0.0,
    diversity: DiversityOption = None,
    max_per_category: CapOption = None,
    quiet: Annotated[bool, typer.Option(help="No progress lines on stderr.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Full-ranking test metrics (HR, recall, NDCG, MRR, coverage, novelty, intra-list
    diversity), overall and per customer segment, optionally after a diversity re-rank."""
    from shopmind.evaluation.topk import check_k
    from shopmind.models.recommend.rules import diversity_rules
    from shopmind.models.recommend.workflow import evaluate as run_evaluate

    check_k(k)
    result = run_evaluate(
        state(ctx).workspace,
        model,
        split_kind=split,
        k=k,
        test_days=test_days,
        exclude_seen=None if include_seen is None else not include_seen,
        sampled=sampled,
        overrides=_overrides(config, epochs, device, model),
        log=_log(not quiet),
        neural_minutes=neural_minutes,
        rules=diversity_rules(diversity, max_per_category),
    )

    def render() -> None:
        stdout.print(
            f"{result['model']} on {result['split']} ({result['cases']} cases, "
            f"{result['protocol']}, seen items "
            f"{'excluded' if result['exclude_seen'] else 'kept'})"
        )
        print_table(
            None,
            ["metric", "value"],
            [[name, round(value, 4)] for name, value in result["metrics"].items()],
        )
        segments = result.get("customer_segments") or result["segments"]
        names = [f"{m}@{k}" for m in ("ndcg", "coverage", "novelty", "ild")]
        print_table(
            "per customer segment" if result.get("customer_segments") else "per history length",
            ["segment", "cases", *names],
            [
                [label, row["cases"], *(round(row[n], 4) if n in row else "" for n in names)]
                for label, row in segments.items()
            ],
        )

    emit(result, as_json, render)


def _write(out: Path, header: list[str], rows: Any) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


@app.command()
def batch(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            help="CSV with columns user_id, rank, item_id, score, title, category, reason."
        ),
    ],
    model: ModelOption = None,
    k: Annotated[int, typer.Option(help="Items per user.")] = 10,
    include_seen: Annotated[bool, typer.Option(help="Keep items the user already has.")] = False,
    reasons: Annotated[
        bool,
        typer.Option(help="Explain each item (about 1 ms per user); --no-reasons leaves it blank."),
    ] = True,
    diversity: DiversityOption = None,
    max_per_category: CapOption = None,
    as_json: JsonOption = False,
) -> None:
    """Top-k recommendations for every known user, with title, category and a reason.

    Non-product items (`shopmind items list`) are never recommended.
    """
    from shopmind.evaluation.topk import check_k
    from shopmind.features.eligibility import excluded_items
    from shopmind.models.recommend.explain import Explainer
    from shopmind.models.recommend.rules import ItemCatalog, diversity_rules
    from shopmind.models.recommend.workflow import batch_keys, load_model

    check_k(k)
    rules = diversity_rules(diversity, max_per_category)
    ws = state(ctx).workspace
    recommender = load_model(ws, model)
    with ws.connect(read_only=True) as con:
        catalog = ItemCatalog.load(con, recommender.data_.item_ids)
        blocked = set(excluded_items(con)) & set(recommender.item_index_)
    if rules is not None:  # re-rank among eligible items only
        catalog.prepare(rules, recommender.data_, blocked)
    explainer = Explainer.for_model(recommender, catalog)
    users, without, kind = batch_keys(ws, recommender)
    wide = k if rules is not None else k + len(blocked)  # else dropped after ranking

    def rows() -> Iterator[list[Any]]:
        for start in range(0, len(users), 4096):
            part = users[start : start + 4096]
            recs = recommender.recommend(
                part, wide, exclude_seen=not include_seen, rules=rules, catalog=catalog
            )
            for user, rec in zip(part, recs, strict=True):
                kept = [(i, s) for i, s in rec if i not in blocked][:k]
                why_list = (
                    explainer.reasons(user, [i for i, _ in kept]) if reasons else [""] * len(kept)
                )
                for rank, ((item, score), why) in enumerate(zip(kept, why_list, strict=True), 1):
                    index = recommender.item_index_[item]
                    yield [
                        user,
                        rank,
                        item,
                        f"{score:.6g}",
                        catalog.title[index] or "",
                        catalog.category[index] or "",
                        why,
                    ]

    header = ["user_id", "rank", "item_id", "score", "title", "category", "reason"]
    n = _write(out, header, rows())
    drift = recommender.drift()
    if drift is not None:
        stderr.print(
            f"note: the workspace changed since this model was trained ({drift['trained_users']:,}"
            f" -> {drift['users']:,} {kind}, {drift['trained_interactions']:,} -> "
            f"{drift['interactions']:,} interactions); the lists use today's histories. Retrain "
            "with `shopmind recommend train` to learn from the new events.",
            highlight=False,
        )
    summary = {
        "model": recommender.name,
        "users": len(users),
        # what the lists are for: "users", or "sessions" for a model of anonymous sessions
        # only (the CSV's user_id column then holds session ids)
        "keys": kind,
        "rows": n,
        "out": str(out),
        "data_changed": drift is not None,
        # users the model has no history for (only non-product lines, or no item at all)
        "users_without_list": without,
    }
    emit(
        summary,
        as_json,
        lambda: stdout.print(
            f"{n:,} recommendations for {len(users):,} {kind} ({recommender.name}) -> {out}"
            + (
                f"; {without:,} other users have no item the model learnt from (e.g. only "
                "non-product lines) and get no list"
                if without
                else ""
            ),
            highlight=False,
        ),
    )


def read_prefixes(path: Path, known: dict[str, int]) -> tuple[list[list[str]], int, int]:
    """Prefix lines -> known item ids, the unknown ids dropped (counted) and the lines left
    with none (empty or only unknown ids: answered with the most popular items, counted).
    A file without a single known id is refused."""
    if not path.exists():
        raise RecommendError(f"No prefix file at {path}.", hint="Pass an existing --input.")
    prefixes: list[list[str]] = []
    dropped = cold = 0
    commas = False
    for line in path.read_text(encoding="utf-8").splitlines():
        items = line.split()
        commas = commas or any("," in i for i in items)
        kept = [i for i in items if i in known]
        dropped += len(items) - len(kept)
        cold += not kept
        prefixes.append(kept)
    if not prefixes:
        raise RecommendError(f"{path} has no prefixes.", hint="Write one prefix per line.")
    if cold == len(prefixes):
        raise RecommendError(
            f"None of the item ids in {path} is known to the model.",
            hint="Separate item ids with spaces, not commas."
            if commas
            else "Use item ids from the training data (as in the ingested file).",
        )
    return prefixes, dropped, cold


@app.command(name="next")
def next_items(
    ctx: typer.Context,
    input: Annotated[Path, typer.Option("--input", help="One space-separated prefix per line.")],
    out: Annotated[Path, typer.Option(help="CSV: case_id,rank,item_id,score.")],
    model: ModelOption = None,
    k: Annotated[int, typer.Option(help="Items per prefix.")] = 20,
    exclude_seen: Annotated[
        bool,
        typer.Option(
            "--exclude-seen",
            help="Leave out the items a prefix already holds (default: keep them, repeats "
            "are real next events).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Next items for anonymous sessions (by default nothing is excluded: repeats are real)."""
    from shopmind.evaluation.topk import check_k
    from shopmind.models.recommend.workflow import load_model

    check_k(k)
    recommender = load_model(state(ctx).workspace, model)
    prefixes, dropped, cold = read_prefixes(input, recommender.item_index_)
    if dropped:
        stderr.print(f"note: {dropped} unknown item ids were left out of the prefixes")
    if cold:
        stderr.print(
            f"note: {cold} prefixes had no known item id (empty, or unknown ids only): "
            "they get the most popular items"
        )

    def rows() -> Iterator[list[Any]]:
        for start in range(0, len(prefixes), 2048):
            batch = prefixes[start : start + 2048]
            recs = recommender.recommend_next(batch, k, exclude_seen=exclude_seen)
            for case, rec in enumerate(recs, start=start + 1):
                for rank, (item, score) in enumerate(rec, start=1):
                    yield [case, rank, item, f"{score:.6g}"]

    n = _write(out, ["case_id", "rank", "item_id", "score"], rows())
    summary = {
        "model": recommender.name,
        "cases": len(prefixes),
        "rows": n,
        "unknown_items_dropped": dropped,
        "prefixes_without_known_items": cold,
        "exclude_seen": exclude_seen,
        "out": str(out),
    }
    emit(
        summary,
        as_json,
        lambda: stdout.print(
            f"{n} recommendations for {len(prefixes)} prefixes ({recommender.name}) -> {out}"
        ),
    )


@app.command()
def similar(
    ctx: typer.Context,
    items: Annotated[list[str], typer.Argument(help="Item ids.")],
    model: ModelOption = None,
    k: Annotated[int, typer.Option(help="Items per item.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Items most similar to the given ones."""
    from shopmind.models.recommend.workflow import load_model

    recommender = load_model(state(ctx).workspace, model)
    result: dict[str, list[dict[str, Any]]] = {
        item: [{"item_id": i, "score": s} for i, s in rec]
        for item, rec in zip(items, recommender.similar_items(items, k), strict=True)
    }

    def render() -> None:
        for item, rec in result.items():
            print_table(
                f"like {item}",
                ["item_id", "score"],
                [[r["item_id"], round(r["score"], 4)] for r in rec],
            )
        sys.stdout.flush()

    emit(result, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="recommend")
