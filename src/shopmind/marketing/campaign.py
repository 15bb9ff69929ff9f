"""Campaign planning under a budget: contact the users whose expected incremental profit
``uplift x value - cost`` is highest, until the budget or the positive profits run out.

The uplift model learns from a past randomised campaign in the workspace: features at its
send time (point-in-time), treatment = arm, outcome = converted. A held-out part of that
campaign measures how much uplift the same targeting rule really delivered (treated minus
control conversion among the top-scored share), which gives the plan's expected incremental
conversions and a 95% interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.features.point_in_time import user_features
from shopmind.features.tables import Tables
from shopmind.models.uplift import UpliftConfig, UpliftModel


@dataclass(frozen=True)
class CampaignBudget:
    budget: float
    cost: float
    value: float


def campaign_training_data(
    tables: Tables, campaign_id: str | None
) -> tuple[pd.DataFrame, str, str, str]:
    """Features at send time with arm and outcome for the (latest) campaign."""
    assignments = tables.backend.table("campaign_assignments").execute()
    if assignments.empty:
        raise ShopmindError(
            "No past campaign to learn uplift from.",
            hint="Planning needs a randomised campaign in campaign_assignments "
            "(`shopmind simulate` makes one).",
        )
    if campaign_id is None:
        campaign_id = str(assignments.sort_values("sent_ts")["campaign_id"].iloc[-1])
    rows = assignments[assignments["campaign_id"] == campaign_id]
    if rows.empty:
        raise ShopmindError(
            f"No campaign '{campaign_id}'.",
            hint=f"Known: {', '.join(sorted(set(assignments['campaign_id'])))}.",
        )
    arms = sorted(set(rows["arm"]))
    control = "control" if "control" in arms else arms[0]
    treatment = next(a for a in arms if a != control)
    sent = pd.Timestamp(rows["sent_ts"].min()).to_pydatetime()
    features = user_features(tables, sent).execute()
    data = rows[["user_id", "arm", "converted"]].merge(features, on="user_id", how="inner")
    return data, campaign_id, treatment, control


def plan(
    tables: Tables, budget: CampaignBudget, campaign_id: str | None = None, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The audience (user_id, uplift, expected_profit) and a summary with its uncertainty."""
    from sklearn.model_selection import train_test_split

    if budget.cost <= 0 or budget.budget <= 0 or budget.value <= 0:
        raise ShopmindError("--budget, --cost and --value must be positive.")
    data, campaign_id, treatment, control = campaign_training_data(tables, campaign_id)
    feature_columns = [c for c in data.columns if c not in {"user_id", "arm", "converted"}]
    y = data["converted"].astype(int)
    train, held = train_test_split(
        data, test_size=0.3, random_state=seed, stratify=data["arm"] + y.astype(str)
    )
    model = UpliftModel(UpliftConfig(seed=seed)).fit(
        train[feature_columns], train["arm"], train["converted"].astype(int), [treatment], control
    )
    events = tables["events"]
    now = pd.Timestamp(events.ts.max().execute()).to_pydatetime() + timedelta(seconds=1)
    population = user_features(tables, now).execute()
    population["uplift"] = model.predict(population[feature_columns])[treatment].to_numpy()
    population["expected_profit"] = population["uplift"] * budget.value - budget.cost
    ranked = population.sort_values("uplift", ascending=False)
    affordable = int(budget.budget // budget.cost)
    audience = ranked[ranked["expected_profit"] > 0].head(affordable)
    share = len(audience) / max(len(population), 1)
    realised = _held_out_uplift(model, held, feature_columns, treatment, control, share)
    n = len(audience)
    low, mid, high = (
        realised["uplift"] - 1.96 * realised["se"],
        realised["uplift"],
        realised["uplift"] + 1.96 * realised["se"],
    )
    summary = {
        "campaign_learned_from": campaign_id,
        "treatment": treatment,
        "control": control,
        "population": len(population),
        "audience": n,
        "spend": n * budget.cost,
        "budget": budget.budget,
        "cost": budget.cost,
        "value": budget.value,
        "predicted_incremental_conversions": float(audience["uplift"].sum()),
        "expected_incremental_conversions": {"estimate": n * mid, "low": n * low, "high": n * high},
        "expected_incremental_profit": {
            "estimate": n * (mid * budget.value - budget.cost),
            "low": n * (low * budget.value - budget.cost),
            "high": n * (high * budget.value - budget.cost),
        },
        "held_out_check": realised,
        "chosen_learner": model.validation_[treatment]["chosen"],
        "scored_at": now.isoformat(),
    }
    return audience[["user_id", "uplift", "expected_profit"]], summary


def _held_out_uplift(
    model: UpliftModel,
    held: pd.DataFrame,
    columns: list[str],
    treatment: str,
    control: str,
    share: float,
) -> dict[str, Any]:
    """Observed uplift (treated - control conversion) among the top ``share`` of held-out."""
    from shopmind.evaluation.uplift import curve, qini_coefficient

    scores = model.predict(held[columns])[treatment].to_numpy()
    y = held["converted"].astype(int).to_numpy()
    t = (held["arm"] == treatment).astype(int).to_numpy()
    x, q = curve(y, t, scores, "qini")
    step = max(1, len(x) // 200)
    k = max(int(np.ceil(len(held) * max(share, 0.05))), 20)
    top = held.iloc[np.argsort(-scores, kind="mergesort")[:k]]
    y_t = top[top["arm"] == treatment]["converted"].astype(float)
    y_c = top[top["arm"] == control]["converted"].astype(float)
    qini = {
        "qini_coefficient": qini_coefficient(y, t, scores),
        "qini_curve": {"x": x[::step].tolist(), "y": q[::step].tolist()},
    }
    if len(y_t) == 0 or len(y_c) == 0:
        return {"uplift": float("nan"), "se": float("nan"), "rows": k, **qini}
    se = np.sqrt(y_t.var(ddof=1) / len(y_t) + y_c.var(ddof=1) / len(y_c))
    return {
        "uplift": float(y_t.mean() - y_c.mean()),
        "se": float(se),
        "rows": k,
        "share": float(k / len(held)),
        **qini,
    }


def segment_mix(audience: pd.DataFrame, segments: pd.DataFrame) -> dict[str, int]:
    merged = audience.merge(segments, on="user_id", how="left")
    return {str(k): int(v) for k, v in merged["segment"].fillna("(none)").value_counts().items()}


__all__ = ["CampaignBudget", "plan", "segment_mix"]
