"""Sample recommendations of the default recommender, with their reasons."""

from __future__ import annotations

import html
import json

import numpy as np

from shopmind.reports.fragments import table
from shopmind.store import Workspace

TITLE = "Recommendations"
ANCHOR = "recommendations"
NOTE = "No recommender yet: run <code>shopmind recommend train</code>."


def build(workspace: Workspace) -> str | None:
    from shopmind.models.recommend.explain import Explainer
    from shopmind.models.recommend.rules import ItemCatalog
    from shopmind.models.recommend.workflow import load_model, model_dir

    pointer = model_dir(workspace) / "default.json"
    if not pointer.exists():
        return None
    summary = json.loads(pointer.read_text())
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
    return lead + table(["user", "recent items", "recommended: why"], rows)
