"""Campaign planning under a budget: contact the users whose expected incremental profit
``uplift x value - cost`` is highest, until the budget or the positive profits run out.

The uplift model learns from a past randomised campaign in the workspace (simulated or loaded
with ``ingest --format campaign``): features at its send time (point-in-time event features
and/or the covariates kept with the campaign), one treatment arm against control, outcome =
converted. A held-out part of that
campaign measures how much uplift the same targeting rule really delivered (treated minus
control conversion among the top-scored share), which gives the plan's expected incremental
conversions and a 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import ShopmindError
from shopmind.features.point_in_time import user_features
from shopmind.features.tables import Tables
from shopmind.marketing.past_campaign import PastCampaign, load_campaign
from shopmind.models.uplift import UpliftConfig, UpliftModel


@dataclass(frozen=True)
class CampaignBudget:
    """Budget and cost per contact (currency); ``value`` of one conversion, or ``margin``:
    value = margin x mean revenue of a converted user in the past campaign. ``cost=None``
    takes the mean cost per contact the campaign file recorded."""

    budget: float
    cost: float | None = None
    value: float | None = None
    margin: float | None = None


@dataclass(frozen=True)
class TrainingData:
    """Rows of one treatment arm and the control with features at send time."""

    data: pd.DataFrame
    features: list[str]
    past: PastCampaign
    treatments: list[str]
    uses_events: bool

    @property
    def treatment(self) -> str:
        return self.treatments[0]


def _event_features(tables: Tables, at: datetime) -> pd.DataFrame:
    return user_features(tables, at).execute()


def _has_events(tables: Tables) -> bool:
    return int(tables["events"].count().execute()) > 0


def campaign_training_data(
    tables: Tables, campaign_id: str | None, arm: str | None = None, *, several: bool = False
) -> TrainingData:
    """Features at send time with arm and outcome for one treatment arm against control:
    the covariates kept with the campaign and, when the shop has events, point-in-time
    features (users without events before sending are dropped then, unless covariates
    describe them). No ``arm``: the arm with the highest observed conversion, or with
    ``several`` every treatment arm."""
    past = load_campaign(tables.backend.con, campaign_id)
    treatments = past.treatments(arm)
    if len(treatments) > 1 and not several:
        treatments = [_best_arm(past, treatments)]
    rows = past.frame[past.frame["arm"].isin([*treatments, past.control])]
    data = rows[["user_id", "arm", "converted", *past.covariates]]
    uses_events = _has_events(tables)
    if uses_events:
        features = _event_features(tables, past.sent_ts)
        if past.covariates:
            data = data.merge(features, on="user_id", how="left")
        else:
            data = data.merge(features, on="user_id", how="inner")
    columns = [c for c in data.columns if c not in {"user_id", "arm", "converted"}]
    if not columns or data.empty:
        raise ShopmindError(
            f"Campaign '{past.campaign_id}' has no features to learn uplift from.",
            hint="Load the shop's events, or keep pre-period columns in the campaign file.",
        )
    return TrainingData(data.reset_index(drop=True), columns, past, treatments, uses_events)


def _best_arm(past: PastCampaign, treatments: list[str]) -> str:
    """The treatment arm with the highest observed conversion rate (ties: name order)."""
    rates = past.frame.groupby("arm")["converted"].mean()
    return max(sorted(treatments), key=lambda arm: float(rates.get(arm, 0.0)))


def _unit_value(budget: CampaignBudget, past: PastCampaign) -> tuple[float, float, dict[str, str]]:
    """(cost per contact, value per conversion, where each comes from)."""
    cost, value = budget.cost, budget.value
    origin = {"cost": "given", "value": "given"}
    if cost is None:
        recorded = past.frame["cost"].dropna()
        if recorded.empty:
            raise ShopmindError(
                f"No --cost given and campaign '{past.campaign_id}' records no cost.",
                hint="Pass --cost (cost of one contact), or load the campaign with a cost column.",
            )
        cost, origin["cost"] = float(recorded.mean()), "mean cost recorded in the campaign"
    if value is None:
        converted = past.frame[past.frame["converted"] == 1]["revenue"]
        if budget.margin is None or converted.empty or not converted.mean() > 0:
            raise ShopmindError(
                "No --value given, and no --margin with revenue of converted users to derive it.",
                hint="Pass --value (worth of one conversion) or --margin 0.3 (share of revenue "
                "that is profit) for a campaign with revenue.",
            )
        value = budget.margin * float(converted.mean())
        origin["value"] = (
            f"margin {budget.margin:g} x mean revenue per converted user "
            f"({float(converted.mean()):,.2f})"
        )
    for name, number in (("budget", budget.budget), ("cost", cost), ("value", value)):
        if not (math.isfinite(number) and number > 0):  # NaN, inf, 0 or below
            raise ShopmindError(
                f"The {name} must be a positive, finite amount (got {number:g}).",
                hint="Check --budget, --cost, --value (and --margin).",
            )
    return cost, value, origin


def _population(tables: Tables, train: TrainingData) -> tuple[pd.DataFrame, datetime]:
    """Whom to score, and when: every user with events now (features at the last event),
    or, for a campaign known by its covariates only, the campaign's users as loaded."""
    past = train.past
    if not train.uses_events:
        people = past.frame.drop_duplicates("user_id")[["user_id", *past.covariates]]
        return people.reset_index(drop=True), past.sent_ts
    events = tables["events"]
    now = pd.Timestamp(events.ts.max().execute()).to_pydatetime() + timedelta(seconds=1)
    population = _event_features(tables, now)
    if past.covariates:
        people = past.frame.drop_duplicates("user_id")[["user_id", *past.covariates]]
        population = people.merge(population, on="user_id", how="left")
    return population, now


def plan(
    tables: Tables,
    budget: CampaignBudget,
    campaign_id: str | None = None,
    seed: int = 0,
    *,
    arm: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The audience (user_id, uplift, expected_profit) and a summary with its uncertainty."""
    from sklearn.model_selection import train_test_split

    train_data = campaign_training_data(tables, campaign_id, arm)
    past, treatment, control = train_data.past, train_data.treatment, train_data.past.control
    cost, value, origin = _unit_value(budget, past)
    data, feature_columns = train_data.data, train_data.features
    y = data["converted"].astype(int)
    train, held = train_test_split(
        data, test_size=0.3, random_state=seed, stratify=data["arm"] + y.astype(str)
    )
    model = UpliftModel(UpliftConfig(seed=seed)).fit(
        train[feature_columns], train["arm"], train["converted"].astype(int), [treatment], control
    )
    population, now = _population(tables, train_data)
    population["uplift"] = model.predict(population[feature_columns])[treatment].to_numpy()
    population["expected_profit"] = population["uplift"] * value - cost
    ranked = population.sort_values("uplift", ascending=False, kind="mergesort")
    # 1000 // 0.05 is 19999 in binary floating point: a relative tolerance of 1e-12 lets the
    # budget pay for the 20,000th contact; the count may pass every int bound (1e308 / 1e-308)
    contacts = budget.budget / cost * (1 + 1e-12)
    affordable = len(ranked) if contacts >= len(ranked) else math.floor(contacts)
    audience = ranked[ranked["expected_profit"] > 0].head(affordable)
    share = len(audience) / max(len(population), 1)
    realised = _held_out_uplift(model, held, feature_columns, treatment, control, share)
    n = len(audience)
    low, mid, high = (
        realised["uplift"] - 1.96 * realised["se"],
        realised["uplift"],
        realised["uplift"] + 1.96 * realised["se"],
    )
    profit = {
        "estimate": n * (mid * value - cost),
        "low": n * (low * value - cost),
        "high": n * (high * value - cost),
    }
    summary: dict[str, Any] = {
        "campaign_learned_from": past.campaign_id,
        "treatment": treatment,
        "treatment_chosen_by": "--arm" if arm else "only arm, or highest observed conversion",
        "control": control,
        "outcome": f"converted, from {past.outcome_source}",
        "features": "campaign covariates" * bool(past.covariates)
        + " and " * bool(past.covariates and train_data.uses_events)
        + "point-in-time event features" * train_data.uses_events,
        "population": len(population),
        "audience": n,
        "spend": n * cost,
        "budget": budget.budget,
        "cost": cost,
        "value": value,
        "margin": budget.margin,
        "assumptions": origin,
        "predicted_incremental_conversions": float(audience["uplift"].sum()),
        "expected_incremental_conversions": {"estimate": n * mid, "low": n * low, "high": n * high},
        "expected_incremental_profit": profit,
        "held_out_check": realised,
        "chosen_learner": model.validation_[treatment]["chosen"],
        "scored_at": now.isoformat(),
    }
    summary["warnings"] = _loss_warnings(profit, n)
    return audience[["user_id", "uplift", "expected_profit"]], summary


def _loss_warnings(profit: dict[str, float], contacts: int) -> list[str]:
    """Say so when the held-out estimate expects the plan to lose money: the per-user
    uplifts chose the audience, but the uplift measured on held-out rows pays less."""
    if not contacts or profit["estimate"] >= 0:
        return []
    where = "even at the upper end of its 95% interval" if profit["high"] < 0 else "on average"
    return [
        f"On held-out rows this plan loses money {where} (expected profit "
        f"{profit['estimate']:,.0f}): the per-user uplifts are more optimistic than the uplift "
        "measured there. Consider a smaller --budget, a cheaper contact (--cost) or no campaign."
    ]


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


__all__ = ["CampaignBudget", "TrainingData", "campaign_training_data", "plan", "segment_mix"]
