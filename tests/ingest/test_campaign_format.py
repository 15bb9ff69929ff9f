"""``ingest --format campaign``: mapping, options, quarantine with reasons, reconciled counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopmind.errors import IngestError
from shopmind.ingest import ingest_file
from shopmind.privacy import pseudonymize
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, options, query, run_cli, scalar

ROWS = [
    "customer,group,sent,spent,bought,recency,channel,visit,unit_cost",
    "c1,mail,2024-03-01T09:00:00Z,12.5,1,3,Web,1,0.05",
    "c2,holdout,2024-03-01T09:00:00Z,0,0,10,Phone,0,0.05",
    "c3,mail,2024-03-01T09:00:00Z,0,no,7,Web,1,0.05",
    "c4,holdout,not a date,0,0,2,Web,0,0.05",  # bad send time
    "c5,mail,2024-03-01T09:00:00Z,-3,1,1,Phone,0,0.05",  # negative revenue
    "c6,mail,2024-03-01T09:00:00Z,0,maybe,4,Web,0,0.05",  # bad flag
    ",mail,2024-03-01T09:00:00Z,0,0,4,Web,0,0.05",  # no user
    "c7,,2024-03-01T09:00:00Z,0,0,4,Web,0,0.05",  # no arm
    "c1,mail,2024-03-01T09:00:00Z,12.5,1,3,Web,1,0.05",  # same user again: duplicate
]
MAPPING = {
    "user_id": "customer",
    "arm": "group",
    "sent_ts": "sent",
    "revenue": "spent",
    "converted": "bought",
    "cost": "unit_cost",
}


def _write(tmp_path: Path, rows: list[str], name: str = "spring_sale.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def test_mapped_columns_load_and_bad_rows_are_quarantined(
    workspace: Workspace, tmp_path: Path
) -> None:
    opts = options("campaign", mapping=MAPPING, format_options={"control": "holdout"})
    report = ingest_file(workspace, _write(tmp_path, ROWS), opts)
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (9, 3, 5)
    assert report.duplicates_skipped == 1 and report.reconciles()
    reasons = " | ".join(report.quarantine_reasons)
    for words in (
        "sent_ts",
        "revenue",
        "is below 0",
        "is not 0/1, yes/no or true/false",
        "user_id is missing",
        "arm is missing",
    ):
        assert words in reasons
    rows = query(
        workspace,
        "SELECT campaign_id, user_id, arm, converted, revenue, cost, attributes "
        "FROM campaign_assignments ORDER BY revenue DESC, user_id",
    )
    # the file name is the campaign id; ids are keyed pseudonyms like every other load
    assert {r[0] for r in rows} == {"spring_sale"}
    expected_c1 = pseudonymize("c1", TEST_KEY, prefix="u_")
    assert rows[0][1] == expected_c1 and rows[0][2:6] == ("mail", True, 12.5, 0.05)
    assert not any(r[1] in {"c1", "c2", "c3"} for r in rows)
    attributes = json.loads(rows[0][6])
    assert attributes == {"recency": "3", "channel": "Web", "visit": "1"}
    assert query(workspace, "SELECT campaign_id, control_arm, source FROM campaigns") == [
        ("spring_sale", "holdout", "file")
    ]
    assert scalar(workspace, "SELECT count(*) FROM users") == 3
    quarantined = scalar(workspace, "SELECT count(*) FROM quarantine WHERE format = 'campaign'")
    assert quarantined == 5
    assert "c4" not in str(query(workspace, "SELECT raw FROM quarantine"))  # ids protected


def test_options_fill_what_the_file_lacks(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(tmp_path, ["user,variant", "a,email", "b,control", "c,email"])
    opts = options(
        "campaign",
        format_options={"campaign_id": "may", "sent_at": "2024-05-02 10:00"},
        timezone="Europe/London",
    )
    report = ingest_file(workspace, path, opts)
    assert report.rows_loaded == 3 and report.reconciles()
    sent = query(workspace, "SELECT DISTINCT campaign_id, epoch(sent_ts) FROM campaign_assignments")
    assert sent == [("may", 1714640400.0)]  # 10:00 in London (BST) = 09:00 UTC
    assert scalar(workspace, "SELECT count(*) FROM campaign_assignments WHERE converted IS NULL")
    again = ingest_file(workspace, _write(tmp_path, ["user,variant", "a,email"], "b.csv"), opts)
    assert (again.rows_loaded, again.duplicates_skipped) == (0, 1)  # a is already in 'may'


def test_missing_send_time_and_unknown_control_are_refused(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _write(tmp_path, ["user,arm", "a,email", "b,control"])
    with pytest.raises(IngestError, match="--sent-at"):
        ingest_file(workspace, path, options("campaign"))
    opts = options("campaign", format_options={"sent_at": "2024-01-01", "control": "holdout"})
    with pytest.raises(IngestError, match="Arms found: control, email"):
        ingest_file(workspace, path, opts)
    assert scalar(workspace, "SELECT count(*) FROM campaign_assignments") == 0  # rolled back


def test_cli_loads_a_file_without_ids_with_record_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        ["recency,segment,conversion,spend", "1,Womens E-Mail,1,20", "4,No E-Mail,0,0"],
        "hill.csv",
    )
    ws = tmp_path / "ws"
    args = ["--workspace", str(ws), "ingest", str(path), "--format", "campaign"]
    args += ["--sent-at", "2008-03-01", "--control", "No E-Mail", "--json"]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["rows_loaded"] == 2 and report["tables"]["campaign_assignments"] == 2
    users = {r[0] for r in query(Workspace(ws), "SELECT user_id FROM campaign_assignments")}
    assert all(u.startswith("u_") for u in users) and len(users) == 2


def test_outcomes_come_from_purchase_events_when_the_file_has_none(
    workspace: Workspace, tmp_path: Path
) -> None:
    from shopmind.marketing.past_campaign import abtest_frame

    events = _write(
        tmp_path,
        [
            "user_id,item_id,event_type,ts,order_id,quantity,price",
            "a,x,purchase,2024-02-20T10:00:00Z,o0,1,7",  # before sending: pre-period revenue
            "a,x,purchase,2024-03-03T10:00:00Z,o1,2,5",  # within 14 days
            "b,y,purchase,2024-03-30T10:00:00Z,o2,1,9",  # too late
            "c,y,view,2024-03-02T10:00:00Z,,,",
        ],
        "events.csv",
    )
    ingest_file(workspace, events, options())
    sent = {"sent_at": "2024-03-01", "control": "holdout"}
    path = _write(tmp_path, ["user_id,arm,tier", "a,mail,1", "b,mail,2", "c,holdout,1"])
    ingest_file(workspace, path, options("campaign", format_options=sent))
    with workspace.connect(read_only=True) as con:
        frame, past = abtest_frame(con, "spring_sale")
    assert past.outcome_source.startswith("purchase events within 14 days")
    assert past.control == "holdout" and past.covariates == ["tier"]
    got = frame.assign(user=frame["user_id"].map(_original())).set_index("user")
    assert got.loc["a", ["converted", "revenue", "pre_revenue"]].tolist() == [1, 10.0, 7.0]
    assert got.loc["b", ["converted", "revenue"]].tolist() == [0, 0.0]
    assert got.loc["c", "converted"] == 0 and got.loc["a", "tier"] == 1


def _original() -> dict[str, str]:
    return {pseudonymize(u, TEST_KEY, prefix="u_"): u for u in ("a", "b", "c")}
