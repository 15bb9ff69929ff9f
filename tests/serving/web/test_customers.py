"""Customers page: one customer's tags, recommendations, conversations and risk flags from
the library the page calls, equal to the CLI's answers, every view audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.errors import ShopmindError
from shopmind.marketing.customer_view import customer_view, find_customers
from shopmind.store import Workspace
from shopmind.store.audit import AuditEntry
from tests.conftest import run_cli
from tests.serving.helpers import ENV
from tests.serving.web.conftest import Console, form_token
from tests.serving.web.pages_b import (
    HANDOFF,
    audit_actions,
    b_console,
    b_workspace,
    buyer,
    copy_of,
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return b_workspace(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    """The shared server of the page tests (overrides the conftest's for ``browser_page``)."""
    return b_console(tmp_path_factory.getbasetemp())


class _Recommending:
    """The two attributes the view reads of the service's loaded recommender."""

    def __init__(self, ws: Path) -> None:
        from shopmind.models.recommend.workflow import load_model

        self.model = load_model(Workspace(ws), None)
        self.catalog = None


def test_customer_view_equals_the_cli_and_is_audited(ws: Path) -> None:
    user = buyer(ws, 1)  # the customer of the open handoff
    entries: list[AuditEntry] = []
    with Workspace(ws).connect(read_only=True) as con:
        view = customer_view(
            con,
            Workspace(ws),
            user,
            audit=entries.append,
            principal="key:t",
            role="marketer",
            recommending=_Recommending(ws),
        )
    cli = run_cli("--workspace", str(ws), "profile", user, "--json", env=ENV)
    assert cli.returncode == 0, cli.stderr
    profile = cli.json()
    for key in ("lifecycle", "rfm_segment", "favourite_category", "purchases", "price_band"):
        assert view["profile"][key] == profile[key], key
    assert [c["conversation_id"] for c in view["conversations"]] == [HANDOFF]
    assert view["conversations"][0]["status"] == "handoff"
    recs = view["recommendations"]
    assert len(recs) == 10 and all(r["title"] and r["reason"] for r in recs)
    assert view["clv"] is None and view["propensity"] is None  # no models trained here
    assert [(e.action, e.target, e.outcome) for e in entries] == [
        ("customer view", f"user={user}", "ok")
    ]


def test_flagged_customer_shows_reviews_and_unknown_is_refused(ws: Path) -> None:
    entries: list[AuditEntry] = []
    with Workspace(ws).connect(read_only=True) as con:
        flagged = con.execute("SELECT user_id FROM risk_reviews LIMIT 1").fetchone()[0]
        view = customer_view(
            con, Workspace(ws), flagged, audit=entries.append, principal="key:t", role="admin"
        )
        assert view["risk"]["reviews"] and view["risk"]["reviews"][0]["status"] == "open"
        assert view["recommendations"] is None  # no recommender handed over
        with pytest.raises(ShopmindError, match="No customer"):
            customer_view(
                con, Workspace(ws), "nobody", audit=entries.append, principal="key:t", role="admin"
            )
        found = find_customers(con, flagged[:-1])
        assert flagged in [f["user_id"] for f in found] and len(found) <= 20
        with pytest.raises(ShopmindError):
            find_customers(con, "  ")
    assert [e.outcome for e in entries] == ["ok", "not found"]


def test_customers_page_is_refused_to_other_roles(console: Console) -> None:
    for role in ("analyst", "risk_analyst"):
        assert console.client(role).get("/customers").status_code == 403, role


def test_customer_page_shows_and_audits_one_customer(console: Console) -> None:
    user = buyer(console.cli_ws, 1)
    client = console.client("marketer")
    page = client.get(f"/customers?user={user}")
    assert page.status_code == 200 and 'role="alert"' not in page.text
    profile = console.cli("profile", user)
    assert profile["lifecycle"] in page.text and profile["favourite_category"] in page.text
    assert HANDOFF in page.text and "Reveal original id" in page.text
    assert page.text.count("<tr>") >= 10  # tags and the 10 recommendations
    agent_client = console.client("agent")
    agent = agent_client.get(f"/customers?user={user}")
    assert agent.status_code == 200 and "Reveal original id" not in agent.text
    found = agent_client.get(f"/customers?q={user[:-1]}")
    assert f"/customers?user={user}" in found.text
    entries = audit_actions(console, "customer view")
    assert any(e["target"] == f"user={user}" for e in entries)
    token = form_token(page.text)
    revealed = client.post("/customers/reveal", data={"csrf": token, "user": user})
    assert 'id="revealed"' in revealed.text and "@example.com" in revealed.text
    assert audit_actions(console, "console customers reveal")
    refused = agent_client.post(
        "/customers/reveal", data={"csrf": form_token(agent.text), "user": user}
    )
    assert refused.status_code == 403 and "may not see this page" in refused.text
    unknown = console.client("admin").get("/customers?user=nobody-at-all")
    assert unknown.status_code == 200 and "No customer" in unknown.text


def test_every_page_b_renders_in_chinese(console: Console) -> None:
    """Every key the pages use exists in the Chinese catalogue (a missing key is a 500)."""
    user = buyer(console.cli_ws, 1)
    item = "i000001"
    paths = [
        f"/customers?user={user}",
        f"/customers?q={user[:-1]}",
        "/campaigns",
        "/campaigns/analysis?campaign=email_campaign_1",
        f"/recommendations?user={user}&item={item}",
        "/inbox?c=c-handoff-1",
        "/risk?status=all",
        "/risk/rings",
        "/risk/backtest",
    ]
    client = console.client("admin")
    for path in paths:
        sep = "&" if "?" in path else "?"
        page = client.get(f"{path}{sep}lang=zh")
        assert page.status_code == 200, (path, page.text[-500:])
        assert '<html lang="zh-CN"' in page.text and 'role="alert"' not in page.text, path


@pytest.mark.slow
def test_propensity_on_the_customer_view_equals_propensity_explain(tmp_path: Path) -> None:
    import ibis

    from shopmind.features.tables import ANALYTIC_TABLES, Tables

    copy = copy_of(tmp_path, "propensity")
    trained = run_cli("--workspace", str(copy), "propensity", "train", "--json", env=ENV)
    assert trained.returncode == 0, trained.stderr
    user = buyer(copy, 3)
    explain = run_cli("--workspace", str(copy), "propensity", "explain", user, "--json", env=ENV)
    assert explain.returncode == 0, explain.stderr
    expected = explain.json()
    with Workspace(copy).connect(read_only=True) as con:
        backend = ibis.duckdb.from_connection(con)
        tables = Tables(backend, {name: backend.table(name) for name in ANALYTIC_TABLES})
        view = customer_view(
            con,
            Workspace(copy),
            user,
            audit=lambda _: None,
            principal="key:t",
            role="admin",
            tables=tables,
        )
    assert view["propensity"]["score"] == pytest.approx(expected["score"])
    assert [r["text"] for r in view["propensity"]["reasons"]] == [
        r["text"] for r in expected["reasons"]
    ]
