"""Risk review page: rings and rule backtests on an open connection equal the CLI's answers;
the queue's confirm / clear through the page; the page refused to other roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from shopmind.errors import ShopmindError
from shopmind.features.tables import ANALYTIC_TABLES, Tables
from shopmind.risk.console import EXAMPLE_RULES, backtest_on, rings_on
from shopmind.store import Workspace
from tests.conftest import run_cli
from tests.serving.helpers import ENV
from tests.serving.web.conftest import Console, form_token
from tests.serving.web.pages_b import audit_actions, b_console, b_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return b_workspace(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    """The shared server of the page tests (overrides the conftest's for ``browser_page``)."""
    return b_console(tmp_path_factory.getbasetemp())


def _open_reviews(console: Console) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{console.base}/v1/risk/reviews",
        headers={"Authorization": f"Bearer {console.keys['risk_analyst']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def _cli(ws: Path, *args: str) -> dict:
    result = run_cli("--workspace", str(ws), *args, "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    return dict(result.json())


def test_rings_equal_the_cli(ws: Path) -> None:
    with Workspace(ws).connect(read_only=True) as con:
        found = rings_on(con)
    cli = _cli(ws, "risk", "rings")
    assert found["rings"], "the simulated shop plants a fraud ring"
    assert found["links"] == cli["links"]
    assert found["rings"][:20] == cli["rings"]
    assert found["recovery"] == pytest.approx(cli["recovery"])


def test_backtest_equals_the_cli(ws: Path, tmp_path: Path) -> None:
    import ibis

    rules = tmp_path / "rules.yaml"
    rules.write_text(EXAMPLE_RULES)
    with Workspace(ws).connect(read_only=True) as con:
        backend = ibis.duckdb.from_connection(con)
        tables = Tables(backend, {name: backend.table(name) for name in ANALYTIC_TABLES})
        found = backtest_on(con, tables, Workspace(ws), EXAMPLE_RULES)
        with pytest.raises(ShopmindError, match="line 3"):
            bad = "rules:\n  - name: x\n    when: nosuch > 1\n    action: block\n"
            backtest_on(con, tables, Workspace(ws), bad)
    cli = _cli(ws, "risk", "backtest", "--rules", str(rules))
    assert found["rows"] > 0 and found["bad"] > 0
    for key in ("rows", "bad", "precision", "recall", "review_rate", "block_rate", "money_saved"):
        assert found[key] == pytest.approx(cli[key]), key
    assert found["rules"] == cli["rules"]


#: A page each role may see (for its session's CSRF token).
OWN_PAGE = {"marketer": "/campaigns", "analyst": "/recommendations", "agent": "/inbox"}


def test_risk_pages_are_refused_to_other_roles(console: Console) -> None:
    for role in ("marketer", "analyst", "agent"):
        client = console.client(role)
        for path in ("/risk", "/risk/rings", "/risk/backtest"):
            assert client.get(path).status_code == 403, (role, path)
        token = form_token(client.get(OWN_PAGE[role]).text)
        decided = client.post("/risk/decide", data={"csrf": token, "review_id": "rv_x"})
        assert decided.status_code == 403
    anonymous = console.client(None).get("/risk")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_queue_clear_and_confirm_through_the_page(console: Console) -> None:
    client = console.client("risk_analyst")
    page = client.get("/risk")
    assert page.status_code == 200
    reviews = _open_reviews(console)
    first, second = reviews[0]["review_id"], reviews[1]["review_id"]
    assert f'data-review="{first}"' in page.text and reviews[0]["reasons"] in page.text
    token = form_token(page.text)
    done = client.post(
        "/risk/decide", data={"csrf": token, "review_id": first, "action": "clear", "note": "ok"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/risk"
    assert f"Review {first} cleared" in client.get("/risk").text  # the flash
    client.post("/risk/decide", data={"csrf": token, "review_id": second, "action": "confirm"})
    left = {r["review_id"] for r in _open_reviews(console)}
    assert first not in left and second not in left
    cleared = client.get("/risk?status=cleared").text
    assert f'data-review="{first}"' in cleared and f'data-review="{second}"' not in cleared
    unknown = client.post("/risk/decide", data={"csrf": token, "review_id": "rv_nope"})
    assert unknown.status_code == 200 and "No review &#39;rv_nope&#39;" in unknown.text
    actions = {e["action"] for e in audit_actions(console, "risk review clear")}
    assert actions == {"risk review clear"}


def test_rings_and_backtest_pages_show_the_cli_numbers(console: Console) -> None:
    client = console.client("admin")
    rings = client.get("/risk/rings")
    cli = console.cli("risk", "rings")
    assert rings.status_code == 200 and cli["rings"][0]["ring_id"] in rings.text
    token = form_token(client.get("/risk/backtest").text)
    page = client.post("/risk/backtest", data={"csrf": token, "rules": EXAMPLE_RULES})
    assert page.status_code == 200 and 'role="alert"' not in page.text
    assert f"On {cli_backtest_rows(console):,} labelled orders" in page.text
    bad = client.post("/risk/backtest", data={"csrf": token, "rules": "rules: [unclosed"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text


def cli_backtest_rows(console: Console) -> int:
    rules = console.cli_ws.parent / "rules_b.yaml"
    rules.write_text(EXAMPLE_RULES)
    return int(console.cli("risk", "backtest", "--rules", str(rules))["rows"])


@pytest.mark.slow
def test_clear_a_review_in_the_browser(browser_page: Any, console: Console) -> None:
    review = _open_reviews(console)[0]["review_id"]
    page = browser_page("risk_analyst")
    page.goto(f"{console.base}/risk")
    row = page.locator(f"tr[data-review='{review}']")
    row.locator("input[name=note]").fill("checked by phone")
    row.locator("button[value=clear]").click()
    page.wait_for_load_state()
    assert f"Review {review} cleared" in page.content()
    assert page.locator(f"tr[data-review='{review}']").count() == 0
    page.goto(f"{console.base}/risk?status=cleared")
    assert page.locator(f"tr[data-review='{review}']").count() == 1
