"""The privacy budget: default, refusal beyond it, atomic spend and ledger, concurrent spends."""

from __future__ import annotations

import pytest

from shopmind.privacy.dp import DPError
from shopmind.store import Workspace
from shopmind.store import privacy_budget as pb
from tests.conftest import query, scalar


def _spend(ws: Workspace, epsilon: float, release: object = "noisy", kind: str = "segments"):
    cost = pb.Charge(
        kind, "customers by rfm segment", epsilon, "discrete Laplace", {"customers": 1 / epsilon}
    )
    return pb.spend(ws, cost, principal="cli:tester", release=lambda: release)


def test_migration_9_creates_the_budget_with_the_default(workspace: Workspace) -> None:
    assert scalar(workspace, "SELECT count(*) FROM schema_migrations WHERE version = 9") == 1
    state = pb.status(workspace)
    assert state["epsilon_total"] == pb.DEFAULT_BUDGET == 10.0
    assert state["epsilon_spent"] == 0.0 and state["releases"] == 0


def test_spend_records_the_release_in_the_ledger(workspace: Workspace) -> None:
    result, entry = _spend(workspace, 0.5)
    assert result == "noisy"
    rows = query(
        workspace,
        "SELECT release_id, kind, query, epsilon, delta, mechanism, noise_scale, principal "
        "FROM privacy_ledger",
    )
    assert rows == [
        (
            entry.release_id,
            "segments",
            "customers by rfm segment",
            0.5,
            0.0,
            "discrete Laplace",
            '{"customers": 2.0}',
            "cli:tester",
        )
    ]
    state = pb.status(workspace)
    assert state["epsilon_spent"] == 0.5 and state["epsilon_remaining"] == 9.5
    assert state["ledger"][0]["noise_scale"] == {"customers": 2.0}


def test_a_release_beyond_the_budget_is_refused_and_draws_nothing(workspace: Workspace) -> None:
    pb.set_budget(workspace, 1.0, principal="cli:tester")
    _spend(workspace, 0.75)
    drawn = []
    with pytest.raises(pb.BudgetExceededError, match=r"0\.25 left") as info:
        pb.spend(
            workspace,
            pb.Charge("funnel", "q", 0.5, "m", {"x": 1.0}),
            principal="p",
            release=lambda: drawn.append(1),
        )
    assert "dp budget --set" in info.value.hint
    assert drawn == []  # the noise was never drawn
    assert scalar(workspace, "SELECT count(*) FROM privacy_ledger") == 1
    assert pb.status(workspace)["epsilon_spent"] == 0.75
    _spend(workspace, 0.25)  # exactly what is left is still allowed
    assert pb.status(workspace)["epsilon_remaining"] == 0.0


def test_many_small_releases_fill_the_budget_exactly(workspace: Workspace) -> None:
    pb.set_budget(workspace, 1.0, principal="t")
    for _ in range(10):
        _spend(workspace, 0.1)  # 0.1 * 10 is 0.9999999999999999 in floats: no false refusal
    with pytest.raises(pb.BudgetExceededError):
        _spend(workspace, 0.01)


def test_a_failed_release_leaves_no_spend(workspace: Workspace) -> None:
    def broken() -> None:
        raise RuntimeError("sampler failed")

    with pytest.raises(RuntimeError):
        pb.spend(
            workspace,
            pb.Charge("k", "q", 1.0, "m", {}),
            principal="p",
            release=broken,
        )
    assert pb.status(workspace)["epsilon_spent"] == 0.0
    assert scalar(workspace, "SELECT count(*) FROM privacy_ledger") == 0


def test_budget_cannot_go_below_what_is_spent(workspace: Workspace) -> None:
    _spend(workspace, 2.0)
    with pytest.raises(DPError, match="already spent"):
        pb.set_budget(workspace, 1.0, principal="t")
    for refused in (-1.0, 1e308, float("nan")):  # 1e308 would switch the budget off
        with pytest.raises(DPError, match="an epsilon between 0 and 1,000,000"):
            pb.set_budget(workspace, refused, principal="t")
    assert pb.set_budget(workspace, 2.0, principal="t")["epsilon_remaining"] == 0.0
    assert scalar(workspace, "SELECT updated_by FROM privacy_budget") == "t"


def test_a_concurrent_spend_cannot_use_the_same_epsilon(workspace: Workspace) -> None:
    """While one release holds its transaction (spent but not committed), a second release
    on another connection cannot read the old total and spend it again."""
    pb.set_budget(workspace, 1.0, principal="t")
    inner: list[BaseException] = []

    def release_during_first() -> str:
        try:
            _spend(workspace, 0.6, kind="funnel")
        except Exception as exc:  # recorded and asserted below
            inner.append(exc)
        return "first"

    result, _ = pb.spend(
        workspace,
        pb.Charge("segments", "q", 0.6, "m", {"x": 1.0}),
        principal="p",
        release=release_during_first,
    )
    assert result == "first"
    assert len(inner) == 1 and isinstance(inner[0], DPError)
    assert "at the same time" in str(inner[0])
    assert scalar(workspace, "SELECT count(*) FROM privacy_ledger") == 1
    assert pb.status(workspace)["epsilon_spent"] == pytest.approx(0.6)
