"""Online Retail: no non-product line (postage, fees, vouchers...) is ever recommended."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from shopmind.ingest.formats.online_retail import NON_PRODUCT_CODES
from shopmind.store import Workspace
from tests.conftest import query, run_cli

pytestmark = pytest.mark.realdata

CONTRACT = ["user_id", "rank", "item_id", "score"]


def test_no_non_product_line_among_recommendations(retail_ws: Workspace, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(retail_ws.root, ws)
    excluded = {r[0] for r in query(Workspace(ws), "SELECT item_id FROM item_eligibility")}
    assert {"POST", "DOT", "M", "D", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK"} <= excluded
    assert any(i.startswith("gift_0001_") for i in excluded)
    assert len(NON_PRODUCT_CODES) >= 10
    # the user's own list: a real product excluded after ingest is dropped too
    extra = run_cli("--workspace", str(ws), "items", "exclude", "85123A", "--reason", "test")
    assert extra.returncode == 0, extra.stderr
    trained = run_cli(
        "--workspace",
        str(ws),
        "recommend",
        "train",
        "--model",
        "itemknn",
        "--config",
        '{"neighbours": 50}',
        "--quiet",
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "recs.csv"
    result = run_cli("--workspace", str(ws), "recommend", "batch", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:4] == CONTRACT and rows[0][4:] == ["title", "category", "reason"]
    body = rows[1:]
    users = {r[0] for r in body}
    assert len(users) > 4000
    recommended = {r[2] for r in body}
    assert not recommended & (excluded | {"85123A"})
    assert all(r[4] for r in body[:100])  # titles come along
    reasons = [r[6] for r in body]
    together = sum(r.startswith("bought together with ") for r in reasons)
    assert together > 0.9 * len(reasons)
    assert not any(r.startswith("blend of") for r in reasons)
