"""Sample recommendations of the default recommender, with their reasons."""

from __future__ import annotations

import html

import numpy as np

from shopmind.reports.fragments import note, table
from shopmind.store import Workspace

TITLE = "Recommendations"
ANCHOR = "recommendations"
NOTE = "No recommender yet: run <code>shopmind recommend train</code>."


def build(workspace: Workspace) -> str | None:
    from shopmind.models.recommend.explain import Explainer
    from shopmind.models.recommend.rules import ItemCatalog
    from shopmind.models.recommend.workflow import default_summary, load_model

    summary = default_summary(workspace)
    if summary is None:
        from shopmind.analytics.applicability import why_not

        reason = why_not(workspace, "recommend")  # CDNOW: no items to recommend
        return None if reason is None else note(f"Recommendations do not apply: {reason}.")
    model = load_model(workspace, None)
    with workspace.connect(read_only=True) as con:
        catalog = ItemCatalog.load(con, model.data_.item_ids)
    lengths = model.data_.lengths()
    users = [str(model.data_.keys[i]) for i in np.argsort(-lengths, kind="stable")[:5]]

    def label(item: str) -> str:
        title = catalog.title[model.item_index_[item]]
        return f"{item} ({title})" if title else item

    explainer = Explainer.for_model(model, catalog)
    rows = []
    for user, rec in zip(users, model.recommend(users, k=5), strict=True):
        recent = model.data_.seq(model.key_index_[user])[-3:]
        reasons = explainer.reasons(user, [item for item, _ in rec])
        rows.append(
            [
                user,
                ", ".join(label(str(model.data_.item_ids[i])) for i in recent),
                "; ".join(
                    f"{label(item)}: {why}" for (item, _), why in zip(rec, reasons, strict=True)
                ),
            ]
        )
    validation = summary.get("validation", {}).get("validation_ndcg")
    lead = (
        f"<p class='lead'>Default model: <b>{html.escape(summary['model'])}</b>, chosen on a "
        f"{html.escape(summary['split'])} validation split"
        + (f" (NDCG@{summary['k']} {validation:.4f})" if validation is not None else "")
        + f"; trained on {summary['interactions']:,} interactions.</p>"
    )
    return lead + table(["user", "recent items", "recommended: why"], rows) + _diversity(workspace)


def _diversity(workspace: Workspace, k: int = 10, most: int = 5000) -> str:
    """Coverage, novelty and intra-list diversity of the served top-k lists (non-product
    items left out) per RFM segment, for the first ``most`` customers; definitions in
    ``shopmind.evaluation.diversity``."""
    from shopmind.evaluation.diversity import ItemSimilarity, customer_segments, segment_table
    from shopmind.evaluation.topk import top_k
    from shopmind.features.eligibility import excluded_items
    from shopmind.models.recommend.rules import ItemCatalog
    from shopmind.models.recommend.workflow import load_model

    model = load_model(workspace, None)
    data = model.data_
    with workspace.connect(read_only=True) as con:
        categories = ItemCatalog.load(con, data.item_ids).category
        blocked = np.isin(data.item_ids.astype(str), sorted(excluded_items(con)))
        known = {r[0] for r in con.execute("SELECT user_id FROM users").fetchall()}
    # customers only: guest orders (Online Retail's anonymous invoices) are keys of the
    # model too, but no customer, and sorted first they took 1,371 of 5,000 places
    customers = np.flatnonzero(np.isin(data.keys.astype(str), sorted(known)))
    keys = (customers if data.kind == "users" and len(customers) else np.arange(data.n_keys))[:most]
    parts = []
    for start in range(0, len(keys), 1024):
        part = keys[start : start + 1024]
        histories = [data.seq(int(r)) for r in part]
        scores = model.score(histories, model.training_keys(part))
        scores[:, blocked] = -np.inf
        parts.append(top_k(scores, k, exclude=histories)[0])
    top = np.concatenate(parts)
    user_item = data.user_item_matrix()
    similarity = ItemSimilarity.choose(categories, user_item)
    share = np.asarray(user_item.sum(axis=0)).ravel() / max(data.n_keys, 1)
    groups = customer_segments(workspace, list(data.keys[keys])) if data.kind == "users" else None
    found = segment_table(
        top, data.n_items, share, similarity, [None] * len(top) if groups is None else groups, k
    )
    names = [f"coverage@{k}", f"novelty@{k}", f"ild@{k}"]
    rows = [
        [label, f"{r['lists']:,}", *(f"{r[n]:.3f}" if n in r else "" for n in names)]
        for label, r in found.items()
    ]
    return (
        f"<h3>Diversity of the served lists (top {k}, {len(keys):,} customers)</h3>"
        + note(
            "Coverage: share of the catalogue recommended; novelty: mean -log2 of the share of "
            f"customers who had the item (bits); ILD: mean dissimilarity inside a list "
            f"({similarity.kind}). <code>shopmind recommend evaluate --diversity mmr:0.7</code> "
            "measures a re-rank and its accuracy cost."
        )
        + table(["segment", "lists", *names], rows)
    )
