"""Identity linking on a simulated shop with planted cross-platform persons.

    python benchmarks/identity.py [--users 10000] [--days 30] [--share 0.15] [--seed 0] [--json]

``shopmind simulate --identity SHARE`` plants persons holding 2-3 accounts (web, app,
mini_program, store) with shared e-mails, phones in other formats, login links or nothing,
plus households sharing a phone and placeholder contacts; ``identity link`` links them and
the merges are scored pairwise against the planted truth (features/identity_eval.py).
Ablations, each a full re-link of the same workspace: without the over-merge rules (every
shared value links), without login links, and the shared-value cap N from 2 to 8.
Results: benchmarks/results/identity.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from shopmind.features.identity import link_identities
from shopmind.features.identity_eval import evaluate_links
from shopmind.features.identity_graph import LinkRules
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace

ROOT = Path(__file__).resolve().parents[1]
KEY = b"benchmark-key-0123456789"
NO_RULES = LinkRules(
    max_ids_per_value=10**9,
    max_person_ids=10**9,
    placeholder_emails=(),
    placeholder_phones=(),
    households=False,
)


def _scores(ws: Workspace) -> dict[str, Any]:
    r = evaluate_links(ws)
    return {k: r[k] for k in ("precision", "recall", "f1", "predicted_pairs", "false_pairs")}


def run(users: int, days: int, share: float, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        shop = simulate_shop(SimulationConfig(users=users, days=days, seed=seed, identity=share))
        write_shop(ws, shop, key=KEY)
        links = ws.raw_dir / f"simulated_seed{seed}" / "identity_links.csv"
        start = time.perf_counter()
        report = link_identities(ws, KEY, links=links).to_dict()
        seconds = time.perf_counter() - start
        result: dict[str, Any] = {
            "command": "shopmind simulate --identity "
            f"{share} --users {users} --days {days} --seed {seed}; shopmind identity link "
            f"--links raw/simulated_seed{seed}/identity_links.csv; shopmind identity evaluate",
            "planted": shop.truth["identity"],
            "link_seconds": round(seconds, 3),
            "report": {k: report[k] for k in ("users", "persons", "linked_ids", "edges_used")},
            "skipped": report["skipped"],
            "default": evaluate_links(ws),
        }
        link_identities(ws, KEY, rules=NO_RULES)
        result["without_over_merge_rules"] = _scores(ws)
        with ws.connect() as con:  # login links are stored: drop them for this run only
            con.execute("DELETE FROM identity_edges WHERE kind = 'login'")
        link_identities(ws, KEY)
        result["without_login_links"] = _scores(ws)
        link_identities(ws, KEY, links=links)
        result["cap_sweep"] = {}
        for cap in (2, 3, 4, 6, 8):
            link_identities(ws, KEY, rules=LinkRules(max_ids_per_value=cap))
            result["cap_sweep"][str(cap)] = _scores(ws)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--share", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="Print the JSON result only.")
    args = parser.parse_args()
    result = run(args.users, args.days, args.share, args.seed)
    out = ROOT / "benchmarks" / "results" / "identity.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(result, default=str))
        return
    d = result["default"]
    print(
        f"{d['planted_persons']} planted persons ({d['planted_accounts']} accounts): precision "
        f"{d['precision']:.4f}, recall {d['recall']:.4f}, F1 {d['f1']:.4f} "
        f"(link {result['link_seconds']} s)"
    )
    for name in ("without_over_merge_rules", "without_login_links"):
        s = result[name]
        print(f"{name}: precision {s['precision']:.4f}, recall {s['recall']:.4f}")
    for cap, s in result["cap_sweep"].items():
        print(f"N={cap}: precision {s['precision']:.4f}, recall {s['recall']:.4f}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
