"""The accuracy cost of diversity: one model, six re-ranks, the same test cases.

    python benchmarks/diversity.py [--dataset beauty|movielens] [--model markov]

Amazon Beauty leave-one-out (full ranking, history excluded; the protocol of
benchmarks/recsys.py). The model is trained once on the training part with the setting
``recommend train`` chose for it on validation (benchmarks/results/recsys.json); its top 200
candidates per case are kept, and every re-rank reads them (the cap looks at most 150 deep,
MMR at 50, so nothing is cut). Reported: NDCG@10, HR@10, coverage@10, novelty@10 (bits) and
ILD@10 by category, plus ILD@10 by co-occurrence cosine (a view the re-ranks do not optimise).

Categories: Beauty.txt has none; ``Beauty_item2attributes.json`` lists category and brand
attribute ids per item; an item's category here is its most common attribute (a top-level
category such as skin care or make-up). MovieLens: the first listed genre.
Results: benchmarks/results/diversity.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SHOPMIND_SHARED_DATA", ROOT.parent / "shared" / "data"))
CONFIGS = {  # chosen on validation by `recommend train` (benchmarks/results/recsys.json)
    "markov": {"window": 5, "normalize": "sqrt", "backward": 0.3, "history_len": 5},
    "itemknn": {"history_decay": 0.7},
}
VARIANTS = [
    ("none", None, None),
    ("category cap 3", 3, None),
    ("category cap 2", 2, None),
    ("mmr lambda 0.9", None, 0.9),
    ("mmr lambda 0.7", None, 0.7),
    ("mmr lambda 0.5", None, 0.5),
]
POOL = 200


def _beauty() -> tuple[object, np.ndarray]:
    from shopmind.evaluation.splits import loo_split
    from shopmind.features.sequences import from_lists

    folder = DATA / "amazon_beauty"
    lines = [ln.split() for ln in (folder / "Beauty.txt").read_text().splitlines()]
    data = from_lists([ln[1:] for ln in lines], [ln[0] for ln in lines])
    attributes = json.loads((folder / "Beauty_item2attributes.json").read_text())
    frequency = Counter(a for values in attributes.values() for a in values)
    categories = np.array(
        [
            f"attr{max(attributes[i], key=lambda a: frequency[a])}" if attributes.get(i) else None
            for i in data.item_ids.astype(str)
        ],
        dtype=object,
    )
    return loo_split(data), categories


def _movielens() -> tuple[object, np.ndarray]:
    from shopmind.evaluation.splits import loo_split
    from shopmind.features.sequences import from_lists

    folder = DATA / "movielens_100k"
    rows = [ln.split("\t") for ln in (folder / "ml-100k.inter").read_text().splitlines()[1:]]
    rows.sort(key=lambda r: (r[0], float(r[3])))
    by_user: dict[str, list[str]] = {}
    for user, item, _rating, _ts in rows:
        by_user.setdefault(user, []).append(item)
    data = from_lists(list(by_user.values()), list(by_user))
    genre = {}
    for line in (folder / "ml-100k.item").read_text(encoding="latin-1").splitlines()[1:]:
        parts = line.split("\t")
        genre[parts[0]] = parts[-1].split()[0] if parts[-1].strip() else None
    categories = np.array([genre.get(i) for i in data.item_ids.astype(str)], dtype=object)
    return loo_split(data), categories


def main() -> None:
    from shopmind.evaluation.diversity import ItemSimilarity, intra_list_diversity
    from shopmind.evaluation.ranking import evaluate_scores
    from shopmind.evaluation.topk import top_k
    from shopmind.models.recommend.rules import BusinessRules, ItemCatalog, apply_rules
    from shopmind.models.recommend.select import build

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=["beauty", "movielens"], default="beauty")
    parser.add_argument("--model", choices=sorted(CONFIGS), default="markov")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/diversity.json")
    args = parser.parse_args()
    started = time.perf_counter()
    split, categories = _beauty() if args.dataset == "beauty" else _movielens()
    data, test = split.fit_data, split.test  # type: ignore[attr-defined]
    model = build(args.model, CONFIGS[args.model]).fit(data)
    fit_seconds = time.perf_counter() - started

    # score once: keep each case's best POOL unseen items (every re-rank reads at most 150)
    row_of = {int(key): row for row, key in enumerate(test.keys)}
    pool_items = np.zeros((len(test), POOL), dtype=np.int64)
    pool_values = np.zeros((len(test), POOL), dtype=np.float32)
    for start in range(0, len(test), 1024):
        histories = test.histories[start : start + 1024]
        scores = model.score(histories, test.keys[start : start + 1024])
        items, values = top_k(scores, POOL, exclude=histories)
        pool_items[start : start + 1024], pool_values[start : start + 1024] = items, values

    def cached(histories: list[np.ndarray], keys: np.ndarray) -> np.ndarray:
        rows = np.array([row_of[int(k)] for k in keys])
        out = np.full((len(rows), data.n_items), -np.inf, dtype=np.float32)
        np.put_along_axis(out, pool_items[rows], pool_values[rows], axis=1)
        return out

    user_item = data.user_item_matrix()
    share = np.asarray(user_item.sum(axis=0)).ravel() / data.n_keys
    by_category = ItemSimilarity.from_categories(categories)
    by_cooccurrence = ItemSimilarity.from_interactions(user_item)
    catalog = ItemCatalog(
        categories, np.full(data.n_items, np.nan), np.ones(data.n_items, bool), categories
    )
    catalog.similarity = by_category
    results = []
    for label, cap, lam in VARIANTS:
        began = time.perf_counter()
        lists: list[np.ndarray] = []
        rules = BusinessRules(max_per_category=cap, mmr_lambda=lam)

        def rerank(
            scores: np.ndarray,
            k: int,
            seen: list[np.ndarray],
            rules: BusinessRules = rules,
            lists: list[np.ndarray] = lists,
        ) -> tuple[np.ndarray, np.ndarray]:
            found = apply_rules(scores, k, rules, catalog, seen, None)
            lists.append(np.where(np.isfinite(found[1]), found[0], -1)[:, :10])
            return found

        metrics = evaluate_scores(
            cached,
            test,
            data.n_items,
            (10,),
            popularity=share,
            rerank=rerank,
            similarity=by_category,
        )["metrics"]
        cooc = intra_list_diversity(np.concatenate(lists), by_cooccurrence)
        row = {
            "rerank": label,
            **{
                name: round(metrics[f"{name}@10"], 5)
                for name in ("ndcg", "hr", "coverage", "novelty", "ild")
            },
            "ild_cooccurrence": round(float(np.nanmean(cooc)), 5),
            "seconds": round(time.perf_counter() - began, 1),
        }
        print(json.dumps(row), flush=True)
        results.append(row)
    base = results[0]
    for row in results:
        row["ndcg_change"] = round(row["ndcg"] / base["ndcg"] - 1, 4)
    out = {
        "dataset": args.dataset,
        "protocol": "leave-one-out, full ranking over all items, history excluded",
        "model": args.model,
        "config": CONFIGS[args.model],
        "cases": len(test),
        "items": data.n_items,
        "categories": len(set(categories) - {None}),
        "fit_seconds": round(fit_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "results"}))


if __name__ == "__main__":
    main()
