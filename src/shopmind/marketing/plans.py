"""The latest campaign plan kept in the workspace (``reports/campaign_plan.json``): written
by ``shopmind campaign plan``, read by the report and by ``shopmind audience build``; and the
plan the report shows before one was made, under stated assumptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopmind.jsonable import to_jsonable
from shopmind.store import Workspace

if TYPE_CHECKING:  # the uplift models load on use, not when the CLI starts
    from shopmind.features.tables import Tables
    from shopmind.marketing.campaign import CampaignBudget

PLAN_FILE = "campaign_plan.json"
#: Without a saved plan: one contact per ``ASSUMED_USERS_PER_CONTACT`` users, at
#: ``ASSUMED_COST`` per contact and ``ASSUMED_VALUE`` per conversion (currency units).
ASSUMED_USERS_PER_CONTACT = 10
ASSUMED_COST = 1.0
ASSUMED_VALUE = 30.0
#: The assumption in words (the report states it).
ASSUMPTION = "a budget of one contact per ten users"


def plan_path(workspace: Workspace) -> Path:
    return workspace.reports_dir / PLAN_FILE


def save_plan(workspace: Workspace, summary: dict[str, Any]) -> Path:
    """Keep ``summary`` as the latest plan (replacing the one before)."""
    path = plan_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(summary)), encoding="utf-8")
    return path


def read_plan(workspace: Workspace) -> dict[str, Any] | None:
    """The latest saved plan's summary, or None when no plan was made."""
    path = plan_path(workspace)
    if not path.is_file():
        return None
    summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return summary


def assumed_budget(users: int) -> CampaignBudget:
    """The budget assumed for ``users`` users when nobody made a plan."""
    from shopmind.marketing.campaign import CampaignBudget

    return CampaignBudget(
        budget=max(users // ASSUMED_USERS_PER_CONTACT, 1), cost=ASSUMED_COST, value=ASSUMED_VALUE
    )


def shown_plan(tables: Tables, workspace: Workspace) -> tuple[dict[str, Any], bool]:
    """The plan to show: the saved one (``True``), else one made now under
    :func:`assumed_budget` for the users with events (or, for a campaign loaded without
    events, the users it reached) and ``False``."""
    from shopmind.marketing.campaign import plan

    saved = read_plan(workspace)
    if saved is not None:
        return saved, True
    users = int(tables["events"].user_id.nunique().execute()) or int(
        tables.backend.table("campaign_assignments").user_id.nunique().execute()
    )
    _, summary = plan(tables, assumed_budget(users))
    return summary, False
