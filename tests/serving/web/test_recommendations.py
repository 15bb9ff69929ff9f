"""Recommendations page: the library behind it gives the CLI's lists (``recommend batch``
and ``recommend similar``), drops excluded items, and reports the model's status."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from shopmind.errors import RecommendError
from shopmind.features.eligibility import excluded_items, set_eligibility
from shopmind.models.recommend.browse import model_status, similar_items, user_recommendations
from shopmind.models.recommend.rules import ItemCatalog
from shopmind.models.recommend.workflow import load_model
from shopmind.store import Workspace
from tests.conftest import run_cli
from tests.serving.helpers import ENV
from tests.serving.web.conftest import Console
from tests.serving.web.pages_b import b_console, b_workspace, buyer, copy_of


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return b_workspace(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    """The shared server of the page tests (overrides the conftest's for ``browser_page``)."""
    return b_console(tmp_path_factory.getbasetemp())


def _recommend(ws: Path, user: str, k: int) -> list[dict]:
    model = load_model(Workspace(ws), None)
    with Workspace(ws).connect(read_only=True) as con:
        catalog = ItemCatalog.load(con, model.data_.item_ids)
        return user_recommendations(model, catalog, con, user, k, set(excluded_items(con)))


def test_user_recommendations_equal_recommend_batch(ws: Path, tmp_path: Path) -> None:
    user = buyer(ws)
    out = tmp_path / "batch.csv"
    result = run_cli(
        "--workspace",
        str(ws),
        "recommend",
        "batch",
        "--out",
        str(out),
        "--k",
        "5",
        "--json",
        env=ENV,
    )
    assert result.returncode == 0, result.stderr
    with out.open() as handle:
        cli = [r for r in csv.DictReader(handle) if r["user_id"] == user]
    found = _recommend(ws, user, 5)
    assert [r["item_id"] for r in found] == [r["item_id"] for r in cli]
    assert [r["reason"] for r in found] == [r["reason"] for r in cli]
    assert [r["title"] or "" for r in found] == [r["title"] for r in cli]
    assert all(r["title"] and r["category"] for r in found)
    with pytest.raises(RecommendError, match="does not know user"):
        _recommend(ws, "nobody-here", 5)


def test_similar_items_equal_recommend_similar(ws: Path) -> None:
    model = load_model(Workspace(ws), None)
    item = str(model.data_.item_ids[0])
    result = run_cli(
        "--workspace", str(ws), "recommend", "similar", item, "--k", "4", "--json", env=ENV
    )
    assert result.returncode == 0, result.stderr
    with Workspace(ws).connect(read_only=True) as con:
        found = similar_items(model, con, item, 4)
    assert [r["item_id"] for r in found["similar"]] == [r["item_id"] for r in result.json()[item]]
    assert found["title"]
    with Workspace(ws).connect(read_only=True) as con, pytest.raises(RecommendError):
        similar_items(model, con, "no-such-item", 4)


def test_excluded_items_are_never_shown(ws: Path, tmp_path: Path) -> None:
    copy = copy_of(tmp_path, "excluded")
    user = buyer(copy)
    top = _recommend(copy, user, 3)[0]["item_id"]
    with Workspace(copy).connect() as con:
        set_eligibility(con, [top], False, "gift wrap fee")
    after = _recommend(copy, user, 3)
    assert top not in [r["item_id"] for r in after] and len(after) == 3


def test_model_status_names_the_trained_model(ws: Path) -> None:
    status = model_status(Workspace(ws))
    assert status["trained"] and status["model"] == "markov"
    assert status["items"] > 0 and status["interactions"] > 0


def test_recommendations_page_lists_what_the_cli_lists(console: Console, tmp_path: Path) -> None:
    user = buyer(console.cli_ws)
    page = console.client("analyst").get(f"/recommendations?user={user}&k=5&item=nope")
    assert page.status_code == 200 and "Serving markov" in page.text
    out = tmp_path / "batch.csv"
    console.cli("recommend", "batch", "--out", str(out), "--k", "5")
    with out.open() as handle:
        expected = [r["item_id"] for r in csv.DictReader(handle) if r["user_id"] == user]
    shown = [line.split('"')[1] for line in page.text.split("data-item=")[1:]]
    assert shown == expected
    assert "does not know item" in page.text  # the bad item: an inline message
    for role in ("agent", "risk_analyst"):
        assert console.client(role).get("/recommendations").status_code == 403, role
