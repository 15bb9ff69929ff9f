"""The saved campaign plan (written by ``campaign plan``, read by the report and ``audience
build``) and the budget assumed before one was made."""

from __future__ import annotations

import json
import math

import pytest

from shopmind.marketing.audience import latest_plan
from shopmind.marketing.plans import (
    ASSUMED_COST,
    ASSUMED_VALUE,
    assumed_budget,
    plan_path,
    read_plan,
    save_plan,
)
from shopmind.store import Workspace


def test_save_and_read_round_trip(workspace: Workspace) -> None:
    assert read_plan(workspace) is None
    path = save_plan(workspace, {"budget": 100.0, "scored_at": "2025-03-01", "nan": float("nan")})
    assert path == plan_path(workspace) and path.parent == workspace.reports_dir
    assert read_plan(workspace) == {"budget": 100.0, "scored_at": "2025-03-01", "nan": None}
    assert json.loads(path.read_text(encoding="utf-8"))["budget"] == 100.0


def test_audience_build_reads_the_saved_plans_file(workspace: Workspace) -> None:
    audience = workspace.root / "audience.csv"
    audience.write_text("user_id,uplift\nu1,0.1\n")
    save_plan(workspace, {"out": str(audience)})
    assert latest_plan(workspace) == audience
    save_plan(workspace, {"out": str(workspace.root / "gone.csv")})
    with pytest.raises(Exception, match="No campaign plan audience"):
        latest_plan(workspace)


@pytest.mark.parametrize(("users", "budget"), [(0, 1), (9, 1), (10, 1), (2534, 253)])
def test_assumed_budget_is_one_contact_per_ten_users(users: int, budget: int) -> None:
    assumed = assumed_budget(users)
    assert (assumed.budget, assumed.cost, assumed.value) == (budget, ASSUMED_COST, ASSUMED_VALUE)
    assert (ASSUMED_COST, ASSUMED_VALUE) == (1.0, 30.0)


@pytest.mark.parametrize("field", [0, 1, 2])
@pytest.mark.parametrize("bad", [math.inf, math.nan, 0.0, -5.0])
def test_console_budget_form_refuses_what_no_plan_can_use(field: int, bad: float) -> None:
    from shopmind.errors import ShopmindError
    from shopmind.marketing.campaign_view import check_budget

    numbers = [1000.0, 1.0, 50.0]
    numbers[field] = bad
    with pytest.raises(ShopmindError, match="positive, finite"):
        check_budget(*numbers)
