"""Logs shaped unlike a shop's (found running the demo on Diginetica, Amazon Beauty,
MovieLens and Fraud_Data): anonymous sessions, no timestamps, no purchases, one event per
customer. Each step either works and says what it counted, or says in one line why it does
not apply, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.analytics.applicability import why_not
from shopmind.store import Workspace
from tests.conftest import options, run_cli


def _load(tmp_path: Path, name: str, text: str, fmt: str = "generic") -> Workspace:
    from shopmind.ingest import ingest_file

    path = tmp_path / name
    path.write_text(text)
    ws = Workspace(tmp_path / f"ws-{name}")
    report = ingest_file(ws, path, options(fmt))
    assert report.rows_loaded > 0
    return ws


@pytest.fixture(scope="module")
def sessions_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    lines = [" ".join(f"i{(s * 3 + k) % 11}" for k in range(2 + s % 4)) for s in range(40)]
    return _load(
        tmp_path_factory.mktemp("sessions"), "clicks.txt", "\n".join(lines) + "\n", "sessions"
    )


@pytest.fixture(scope="module")
def views_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A ratings log: views only (no purchase, no price)."""
    rows = ["user_id,item_id,event_type,ts"]
    rows += [
        f"u{u},i{(u + d) % 7},view,2024-03-{d + 1:02d}T10:00:00Z"
        for u in range(30)
        for d in range(2 + u % 11)
    ]
    return _load(tmp_path_factory.mktemp("views"), "ratings.csv", "\n".join(rows) + "\n")


def test_a_session_only_log_skips_profiles_and_counts_sessions(sessions_ws: Workspace) -> None:
    reason = why_not(sessions_ws, "profiles") or ""
    assert "no timestamps" in reason  # a sessions file: the dates are synthetic
    profiles = run_cli("--workspace", str(sessions_ws.root), "analyze", "profiles")
    assert profiles.returncode == 2 and "no event carries a user id" in profiles.stderr.lower()
    assert "Traceback" not in profiles.stderr and "unexpected" not in profiles.stderr
    for command in (["summary"], ["retention", "--start", "view", "--return", "view"]):
        result = run_cli("--workspace", str(sessions_ws.root), "analyze", *command, "--json")
        assert result.returncode == 0, result.stderr
        assert result.json()["counted_per"] == "session"
    summary = run_cli("--workspace", str(sessions_ws.root), "analyze", "summary", "--json").json()
    assert summary["active_users"] == 40  # sessions, as the note says
    trend = run_cli(
        "--workspace", str(sessions_ws.root), "analyze", "trends", "--metric", "active_users",
        "--interval", "month", "--json",
    ).json()  # fmt: skip
    assert trend["counted_per"] == "session" and sum(p["value"] for p in trend["points"]) >= 40


def test_a_log_without_timestamps_says_so_at_ingest_and_in_the_steps(tmp_path: Path) -> None:
    from shopmind.ingest import ingest_file

    path = tmp_path / "seq.txt"
    path.write_text("".join(f"user{u} a{u % 3} b{u % 5} c{u % 2}\n" for u in range(30)))
    report = ingest_file(Workspace(tmp_path / "ws"), path, options("sequences"))
    assert any("no timestamps" in w for w in report.warnings)
    for step in ("rfm", "clv", "propensity", "profiles"):
        assert "synthetic" in (why_not(Workspace(tmp_path / "ws"), step) or ""), step
    report_html = run_cli(
        "--workspace", str(tmp_path / "ws"), "report", "--out", str(tmp_path / "r.html")
    )
    assert report_html.returncode == 0, report_html.stderr
    assert "without timestamps" in (tmp_path / "r.html").read_text()


def test_a_log_without_purchases_shows_no_money_and_says_what_applies(views_ws: Workspace) -> None:
    root = str(views_ws.root)
    summary = run_cli("--workspace", root, "analyze", "summary")
    assert summary.returncode == 0, summary.stderr
    assert "n/a (no purchases in the data)" in summary.stdout and "0.00" not in summary.stdout
    retention = run_cli("--workspace", root, "analyze", "retention")
    assert retention.returncode == 2
    assert retention.stderr.count("purchase") >= 1 and "purchase, purchase" not in retention.stderr
    assert "--start/--return" in retention.stderr
    trends = run_cli(
        "--workspace", root, "analyze", "trends", "--metric", "orders", "--interval", "day"
    )
    assert trends.returncode == 0 and "best complete" not in trends.stdout  # all zero: no best
    out = Path(root).parent / "report.html"
    assert run_cli("--workspace", root, "report", "--out", str(out)).returncode == 0
    page = out.read_text()
    assert "dp release retention --start view --return view" in page
    assert "risk control scores orders" in page and "run <code>shopmind risk train" not in page


def test_one_purchase_per_customer_has_nothing_for_propensity(tmp_path: Path) -> None:
    rows = ["user_id,item_id,event_type,ts,price"]
    rows += [
        f"u{u},i{u % 5},purchase,2024-0{1 + u % 6}-1{u % 9}T10:00:00Z,{10 + u}" for u in range(60)
    ]
    ws = _load(tmp_path, "orders.csv", "\n".join(rows) + "\n")
    reason = why_not(ws, "propensity", horizon_days=7) or ""
    assert "no purchase follows an earlier event" in reason
    assert why_not(ws, "rfm") is None  # the purchases themselves still segment
    rfm = run_cli("--workspace", str(ws.root), "analyze", "rfm", "--json").json()
    assert "every customer bought once" in rfm["note"]
    # segments: only spend and recency differ; a feature 0 for everyone sets none apart
    result = run_cli("--workspace", str(ws.root), "analyze", "segments", "--json")
    assert result.returncode == 0, result.stderr
    descriptions = [seg["description"] for seg in result.json()["segments"]]
    assert descriptions and all("add-to-carts" not in d and "views" not in d for d in descriptions)


def test_a_flat_series_has_no_best_period() -> None:
    from shopmind.analytics.metrics import best_period

    flat = [{"period": p, "partial": False, "value": 0} for p in ("a", "b", "c")]
    assert best_period(flat, "value") is None
    flat[1]["value"] = 2
    assert best_period(flat, "value") == flat[1]
