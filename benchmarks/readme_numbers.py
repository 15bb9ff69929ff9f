"""README's measured numbers, checked against the results files of the benchmarks that wrote
them; with ``--run``, those benchmarks run first, so one command reproduces the numbers.

    python benchmarks/readme_numbers.py                    # README vs results files
    python benchmarks/readme_numbers.py --run all          # rerun every benchmark, then check
    python benchmarks/readme_numbers.py --run ingest recsys_cli_diginetica
    python benchmarks/readme_numbers.py --list             # the benchmarks and their commands

Each claim names a README anchor (text on one line), the results file and how README writes
the numbers taken from it. A table row is checked in its own line, other claims in the
paragraph around the anchor. A rerun that moves a number shows here as a mismatch: update the
README sentence (and say why it moved) or find the regression. Numbers from the real-data
tests (CDNOW, Hillstrom, Online Retail metrics) are asserted by those tests, not here. Results
of the check: ``benchmarks/results/readme_numbers.json``. A full ``--run all`` takes several
hours on 2 cores (the recommendation runs alone about two).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable

#: benchmark name -> (command, results files it writes)
BENCHMARKS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "ingest": (
        [PY, "benchmarks/ingest.py", "--repeat", "3", "--stages", "--floor"],
        ("ingest.json",),
    ),
    "analytics": (
        [PY, "benchmarks/analytics.py", "--events", "1000000", "10000000", "--repeat", "3"],
        ("analytics.json",),
    ),
    "funnel_floor": (
        [
            PY,
            "benchmarks/analytics.py",
            "--events",
            "10000000",
            "--analyses",
            "funnel",
            "funnel_floor",
            "--repeat",
            "3",
            "--out",
            "benchmarks/results/funnel_floor.json",
        ],
        ("funnel_floor.json",),
    ),
    "propensity": ([PY, "benchmarks/propensity.py"], ("propensity.json",)),
    "propensity_ceiling": (
        [PY, "benchmarks/propensity_ceiling.py"],
        ("propensity_ceiling.json",),
    ),
    "marketing": ([PY, "benchmarks/marketing.py", "--users", "50000"], ("marketing.json",)),
    "recsys": (
        [PY, "benchmarks/recsys.py", "--datasets", "beauty", "online_retail"],
        ("recsys.json",),
    ),
    "recsys_cli_beauty": (
        [PY, "benchmarks/recsys_cli.py", "--datasets", "beauty"],
        ("recsys_cli_beauty.json",),
    ),
    "recsys_cli_diginetica": (
        [PY, "benchmarks/recsys_cli.py", "--datasets", "diginetica"],
        ("recsys_cli_diginetica.json",),
    ),
    "recsys_cli_diginetica_neural": (
        [PY, "benchmarks/recsys_cli.py", "--datasets", "diginetica", "--neural-minutes", "16"],
        ("recsys_cli_diginetica_neural16.json",),
    ),
    "sequential": (
        [PY, "benchmarks/sequential.py", "--models", "sasrec", "--device", "cpu"],
        ("sequential_cpu.json",),
    ),
    "diversity": ([PY, "benchmarks/diversity.py"], ("diversity.json",)),
    "spark_recsys": ([PY, "benchmarks/spark_recsys.py"], ("spark_recsys.json",)),
    "serve": (
        [
            PY,
            "benchmarks/serve.py",
            "--data",
            "../shared/data/amazon_beauty/Beauty.txt",
            "--model",
            "markov",
            "--rate",
            "500",
            "--seconds",
            "60",
            "--event-seconds",
            "20",
        ],
        ("serve.json",),
    ),
    "risk": ([PY, "benchmarks/risk.py"], ("risk.json",)),
    "assistant": ([PY, "benchmarks/assistant.py"], ("assistant.json",)),
    "identity": ([PY, "benchmarks/identity.py"], ("identity.json",)),
    "atomic_loop": ([PY, "benchmarks/atomic_loop.py", "--runs", "20"], ("atomic_loop.json",)),
}


@dataclass(frozen=True)
class Claim:
    anchor: str
    results: str
    values: Callable[[Any], list[str]]
    nth: int | None = None  # which occurrence of an anchor README repeats (else: unique)


def _f(digits: int) -> Callable[[float], str]:
    return lambda x: f"{x:.{digits}f}"


f2, f3, f4 = _f(2), _f(3), _f(4)


def commas(x: float) -> str:
    return f"{round(x):,}"


def seconds(x: float) -> str:
    """README's wall times: 0.43 s, 2.19 s, 20.7 s."""
    return f"{x:.1f} s" if x >= 10 else f"{x:.2f} s"


def ratio(x: float) -> str:
    return f"{x:.1f}x" if x >= 10 else f"{x:.2f}x"


def _where(rows: list[dict], **match: Any) -> dict:
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    if len(found) != 1:
        raise KeyError(f"{len(found)} result rows match {match}")
    return found[0]


def _ingest_row(d: Any, file_start: str) -> dict[str, Any]:
    return next(r for r in d["results"] if r["file"].startswith(file_start))


def _ingest(file_start: str) -> Callable[[Any], list[str]]:
    def values(d: Any) -> list[str]:
        row = _ingest_row(d, file_start)
        return [
            f"{commas(row['bare_rows_per_s'])} rows/s",
            f"{commas(row['shopmind_rows_per_s'])} rows/s",
            ratio(row["ratio"]),
        ]

    return values


def _ingest_floor(d: Any) -> list[str]:
    """The contract's least work against the bare load, and the stages of a real load."""
    row = _ingest_row(d, "simulated")
    steps, stages = row["floor_steps_s"], row["stages_s"]
    steps_cpu = row["floor_steps_cpu_s"]
    return [
        f"{seconds(row['floor_s'])}, {ratio(row['floor_ratio'])} the bare load's "
        f"{seconds(row['bare_s'])}",
        f"load with pseudonymised ids {seconds(steps['load'])}",
        f"sha256 {seconds(steps['sha256'])}",
        f"took {seconds(row['floor_validated_load_s'])} by itself",
        f"({row['floor_validated_load_cpu_s']:.1f} s of CPU against "
        f"{steps_cpu['load']:.1f} s for the plain load)",
        f"{ratio(row['floor_validated_ratio'])} with the other steps",
        f"validation {seconds(stages['validate'])} plus load {seconds(stages['load'])}",
    ]


def _ingest_stages(d: Any) -> list[str]:
    """Where a real load of the 10M CSV spends its time, stage by stage."""
    row = _ingest_row(d, "simulated")
    stages = row["stages_s"]
    return [
        f"hash and line scan {seconds(stages['hash'])}",
        f"validation into the staging table {seconds(stages['validate'])}",
        f"the duplicate check {seconds(stages['deduplicate'])}",
        f"the vault {seconds(stages['load'])}, the commit {seconds(stages['committed'])}",
        f"against the bare load's {seconds(row['bare_s'])}",
    ]


def _analytics(analysis: str, big: bool) -> Callable[[Any], list[str]]:
    def values(d: Any) -> list[str]:
        rows = [r for r in d["results"] if r["analysis"] == analysis]
        row = max(rows, key=lambda r: r["events"]) if big else min(rows, key=lambda r: r["events"])
        return [
            f"{row['events'] / 1e6:.1f}M",
            seconds(row["shopmind_s"]),
            seconds(row["pandas_s"]),
            f"{row['speedup']:.2f}x",
            f"{f2(row['shopmind_cpu_s'])} / {f2(row['pandas_cpu_s'])}",
            f"{row['shopmind_peak_mb']} / {row['pandas_peak_mb']}",
        ]

    return values


def _propensity(key: str) -> Callable[[Any], list[str]]:
    def values(d: Any) -> list[str]:
        row = d["rows"][key]
        pair = lambda m: f"{f3(m['roc_auc'])} / {f3(m['pr_auc'])}"  # noqa: E731
        return [
            f"{row['chosen']} {pair(row['chosen_model'])}",
            pair(row["lightgbm"]),
            pair(row["logistic_regression"]),
            pair(row["recency_only"]),
        ]

    return values


def _funnel_floor(d: Any) -> list[str]:
    funnel = _where(d["results"], analysis="funnel")
    floor = _where(d["results"], analysis="funnel_floor")
    return [
        f"{seconds(funnel['shopmind_s'])} against pandas' {seconds(funnel['pandas_s'])}",
        ratio(funnel["speedup"]),
        f"alone takes {seconds(floor['shopmind_s'])}",
        f"{ratio(floor['speedup'])} pandas' {seconds(floor['pandas_s'])}",
    ]


def _propensity_ceiling(d: Any) -> list[str]:
    row = d["rows"]["taobao_purchase"]
    return [
        f"{commas(row['training_rows'])}",
        f"{row['test_rows']} test users",
        f"{row['models_tried']} models",
        f4(row["ceiling_roc_auc"]),
        f4(row["best_models_hindsight"][0]["roc_auc"]),
    ]


def _recsys(dataset: str, model: str, metrics: tuple[str, ...]) -> Callable[[Any], list[str]]:
    def values(d: Any) -> list[str]:
        row = _where(d, dataset=dataset, model=model)
        return [f4(row[m]) for m in metrics]

    return values


def _sequential(d: Any) -> list[str]:
    row = d[0]
    return [
        f4(row["test_ndcg@10"]),
        f4(row["test_hr@10"]),
        f4(row["test_ndcg@20"]),
        commas(row["train_seconds"]),
        f"best epoch {row['best_epoch']}",
    ]


def _diversity(d: Any) -> list[str]:
    rows = {r["rerank"]: r for r in d["results"]}
    none, mmr9 = rows["none"], rows["mmr lambda 0.9"]
    return [
        f"NDCG@10 {f4(none['ndcg'])} / ILD {f3(none['ild'])}",
        f"{f4(mmr9['ndcg'])} ({mmr9['ndcg_change'] * 100:.1f}%) / {f3(mmr9['ild'])}",
    ]


def _spark(d: Any) -> list[str]:
    als = _where(d["models"], model="als")
    return [f"{f4(als['spark']['ndcg@10'])} on Spark", f"{f4(als['duckdb']['ndcg@10'])} on DuckDB"]


def _serve(d: Any) -> list[str]:
    reads = d["reads"]["authenticated_recommendations"]
    events = d["events"]
    return [
        f"{commas(reads['requests'])}",
        f"p50 {f2(reads['p50_ms'])} ms, p99 {f2(reads['p99_ms'])} ms",
        f"{commas(events['sustained']['accepted_events_per_s'])} accepted events/s",
        f"{commas(events['sustained']['acknowledged'])}",
        f"{commas(events['kill_9']['acknowledged'])} acknowledged",
    ]


def _risk(mode: str) -> Callable[[Any], list[str]]:
    def values(d: Any) -> list[str]:
        test = d["fraud_data"][mode]["test"]
        return [f3(test["roc_auc"]), f3(test["average_precision"]), f3(test["recall_at_1pct_fpr"])]

    return values


def _risk_latency(d: Any) -> list[str]:
    score = d["latency"]["score"]
    return [
        f"{commas(score['requests'])} requests",
        f"p50 {f2(score['p50_ms'])} ms, p99 {f2(score['p99_ms'])} ms",
    ]


def _marketing(d: Any) -> list[str]:
    return [
        f"all {commas(d['users'])} users in {f3(d['reasons_s'])} s",
        f"{commas(d['reasons_rows_per_s'])} rows/s",
        f"{commas(d['shap_rows_per_s'])} rows/s",
    ]


def _identity(d: Any) -> list[str]:
    default = d["default"]
    return [
        f"precision {f3(default['precision'])}, recall {f3(default['recall'])}",
        f"precision falls to {f3(d['without_over_merge_rules']['precision'])}",
    ]


def _assistant(d: Any) -> list[str]:
    return [f"accuracy {f2(d['banking77']['minilm_tfidf_lr']['accuracy'])}"]


def _atomic(d: Any) -> list[str]:
    return [f"passed {d['passed']} of {d['runs']} consecutive runs"]


def _ranker_row(d: Any) -> list[str]:
    """The re-ranker against the blend on the same held-out validation cases, when tried."""
    return [
        f"NDCG@10 {f4(row['held_out_ndcg@10'])} against the blend's "
        f"{f4(row['blend_held_out_ndcg@10'])}"
        for row in d.get("leaderboard", [])
        if row["model"] == "hybrid+ranker" and "held_out_ndcg@10" in row
    ]


def _cli_beauty(d: Any) -> list[str]:
    return [f"NDCG@10 {f4(d['ndcg@10'])}, HR@10 {f4(d['hr@10'])}", *_ranker_row(d)]


def _cli_diginetica(d: Any) -> list[str]:
    return [f"P@20 {f2(d['p@20'])}, MRR@20 {f2(d['mrr@20'])}", *_ranker_row(d)]


BEAUTY = ("ndcg@10", "hr@10", "ndcg@20")
RETAIL = ("recall@20", "ndcg@20", "hr@10")
CLAIMS: tuple[Claim, ...] = (
    Claim("| online_retail.parquet |", "ingest.json", _ingest("online_retail")),
    Claim("| simulated events CSV |", "ingest.json", _ingest("simulated")),
    Claim("stage by stage (`stages_s` in the results)", "ingest.json", _ingest_stages),
    Claim("The contract's floor, measured:", "ingest.json", _ingest_floor),
    *(
        Claim(f"| {label} | {size} |", "analytics.json", _analytics(analysis, size != "1.0M"))
        for analysis, label in (
            ("funnel", "funnel view>cart>purchase, 1d"),
            ("retention", "retention, weekly"),
            ("rfm", "RFM (per-user scores)"),
            ("sessions", "sessionisation (30 min)"),
            ("session_counts", "session counts only"),
        )
        for size in ("1.0M", "9.8M")
    ),
    Claim(
        "| Online Retail | purchase, 30d", "propensity.json", _propensity("online_retail_purchase")
    ),
    Claim("| Online Retail | churn, 60d", "propensity.json", _propensity("online_retail_churn")),
    Claim("| Taobao head | purchase, 2d", "propensity.json", _propensity("taobao_purchase")),
    Claim("The funnel's floor, measured:", "funnel_floor.json", _funnel_floor),
    Claim(
        "`python benchmarks/propensity_ceiling.py`", "propensity_ceiling.json", _propensity_ceiling
    ),
    Claim("Explanations (`python benchmarks/marketing.py", "marketing.json", _marketing),
    Claim("| default (model selection", "recsys.json", _recsys("beauty", "default", BEAUTY)),
    Claim("| slist (default settings) |", "recsys.json", _recsys("beauty", "slist", BEAUTY)),
    Claim("| markov (tuned) |", "recsys.json", _recsys("beauty", "markov", BEAUTY)),
    Claim("| sknn (tuned) |", "recsys.json", _recsys("beauty", "sknn", BEAUTY)),
    Claim("| itemknn (BM25, tuned) |", "recsys.json", _recsys("beauty", "itemknn", BEAUTY)),
    Claim("| attributes (category and", "recsys.json", _recsys("beauty", "attributes", BEAUTY)),
    Claim("| popularity |", "recsys.json", _recsys("beauty", "popularity", BEAUTY), nth=0),
    Claim("| sasrec (CE loss, CPU", "sequential_cpu.json", _sequential),
    Claim("--datasets beauty`, `benchmarks/results", "recsys_cli_beauty.json", _cli_beauty),
    Claim(
        "`benchmarks/results/recsys_cli_diginetica.json`)",
        "recsys_cli_diginetica.json",
        _cli_diginetica,
    ),
    Claim(
        "`benchmarks/results/recsys_cli_diginetica_neural16.json`)",
        "recsys_cli_diginetica_neural16.json",
        _cli_diginetica,
    ),
    Claim("| default (item-kNN + ", "recsys.json", _recsys("online_retail", "default", RETAIL)),
    Claim(
        "| als (tuned: regularization 1.0) |",
        "recsys.json",
        _recsys("online_retail", "als", RETAIL),
    ),
    Claim("| sknn (tuned: recency", "recsys.json", _recsys("online_retail", "sknn", RETAIL)),
    Claim("| markov | 0.", "recsys.json", _recsys("online_retail", "markov", RETAIL)),
    Claim("| itemknn (tuned: recency", "recsys.json", _recsys("online_retail", "itemknn", RETAIL)),
    Claim("| popularity |", "recsys.json", _recsys("online_retail", "popularity", RETAIL), nth=1),
    Claim("**with a bearer key**", "serve.json", _serve),
    Claim("Scale-out (`python benchmarks/spark_recsys.py`", "spark_recsys.json", _spark),
    Claim("Diversity (`python benchmarks/diversity.py`", "diversity.json", _diversity),
    Claim("| supervised (LightGBM, Platt-calibrated) |", "risk.json", _risk("supervised")),
    Claim("| unsupervised (`--mode unsupervised`", "risk.json", _risk("unsupervised")),
    Claim("Real-time scoring (`python benchmarks/risk.py", "risk.json", _risk_latency),
    Claim("- **BANKING77**", "assistant.json", _assistant),
    Claim("- One person across platforms", "identity.json", _identity),
    Claim("SIGKILL test passed", "atomic_loop.json", _atomic),
)


def _scope(readme: str, anchor: str, nth: int | None = None) -> str | None:
    """The README table row holding ``anchor``, or the paragraph around it."""
    lines = readme.splitlines()
    at = [i for i, line in enumerate(lines) if anchor in line]
    if (len(at) != 1 and nth is None) or (nth is not None and len(at) <= nth):
        return None
    i = at[nth or 0]
    if lines[i].lstrip().startswith("|"):
        return lines[i]
    start, end = i, i
    while start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith("#"):
        start -= 1
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    return " ".join(line.strip() for line in lines[start : end + 1])


def check(readme: str, results: Path = RESULTS) -> list[dict[str, Any]]:
    """One row per claim: the README spellings expected from the results and what is missing."""
    rows = []
    for claim in CLAIMS:
        scope = _scope(readme, claim.anchor, claim.nth)
        path = results / claim.results
        row: dict[str, Any] = {"anchor": claim.anchor, "results": claim.results}
        if scope is None:
            row.update(ok=False, problem="anchor not found once in README")
        elif not path.exists():
            row.update(ok=False, problem=f"{claim.results} missing")
        else:
            expected = claim.values(json.loads(path.read_text()))
            missing = [v for v in expected if v not in scope]
            row.update(expected=expected, missing=missing, ok=not missing)
            if missing:
                row["problem"] = "README says otherwise: " + "; ".join(missing)
        rows.append(row)
    return rows


def run(names: list[str]) -> list[dict[str, Any]]:
    done = []
    for name in names:
        command, _ = BENCHMARKS[name]
        print(f"running {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        seconds_taken = round(time.perf_counter() - started, 1)
        done.append({"benchmark": name, "exit_code": code, "seconds": seconds_taken})
        print(f"  {name}: exit {code} in {seconds_taken} s", flush=True)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", nargs="+", metavar="BENCHMARK", help="'all' or names (--list)")
    parser.add_argument("--list", action="store_true", help="print the benchmarks and exit")
    parser.add_argument("--out", type=Path, default=RESULTS / "readme_numbers.json")
    args = parser.parse_args()
    if args.list:
        for name, (command, files) in BENCHMARKS.items():
            print(f"{name:<22} {' '.join(command[1:])}  -> {', '.join(files)}")
        return
    ran: list[dict[str, Any]] = []
    if args.run:
        names = list(BENCHMARKS) if args.run == ["all"] else args.run
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; see --list")
        ran = run(names)
    rows = check((ROOT / "README.md").read_text())
    for row in rows:
        print(f"{'ok ' if row['ok'] else 'BAD'} {row['anchor'][:60]:<60} {row.get('problem', '')}")
    bad = sum(not r["ok"] for r in rows)
    print(f"{len(rows) - bad} of {len(rows)} README claims match their results files")
    args.out.write_text(
        json.dumps(
            {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ran": ran, "claims": rows}, indent=1
        )
        + "\n"
    )
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
