"""The risk and assistant sections show the libraries' own numbers, and their one-line notes
when the workspace has no model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from shopmind.assistant import store as conversations
from shopmind.assistant.engine import intent_model_path
from shopmind.evaluation.review_rates import at_review_rates
from shopmind.models.intent import IntentModel
from shopmind.reports.fragments import percent
from shopmind.reports.html import render
from shopmind.reports.sections import assistant, risk
from shopmind.risk.workspace import (
    WorkspaceRisk,
    list_rings,
    score_workspace,
    train_workspace,
)
from shopmind.store import Workspace
from tests.analytics.small_retail import small_retail
from tests.assistant.conftest import labelled


def _text(page: str) -> str:
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&ge;", ">=")


@pytest.fixture(scope="module")
def risk_ws(sim_ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The simulated shop with a workspace risk model (`shopmind risk train`)."""
    ws = Workspace(tmp_path_factory.mktemp("risk") / "ws")
    shutil.copytree(sim_ws.root, ws.root)
    train_workspace(ws)
    return ws


def test_sections_without_models_show_how_to_make_one(tmp_path: Path) -> None:
    ws = small_retail(tmp_path)
    assert risk.build(ws) is None and assistant.build(ws) is None
    risk_page = _text(render(risk, lambda: risk.build(ws)))
    assert "Risk" in risk_page and "No workspace risk model yet: run shopmind risk train" in (
        risk_page
    )
    helper = _text(render(assistant, lambda: assistant.build(ws)))
    assert "No assistant model yet: run shopmind assistant train" in helper


def test_a_log_without_items_says_so_instead_of_a_blank_best_seller(tmp_path: Path) -> None:
    """CDNOW: purchases with amounts and no products. Best-sellers showed one nameless item
    holding every unit, and Recommendations advised `recommend train`, which cannot work."""
    from shopmind.features.tables import duckdb_tables
    from shopmind.ingest import ingest_file
    from shopmind.reports.sections import items, recommendations
    from tests.conftest import options

    path = tmp_path / "CDNOW_sample.txt"
    path.write_text("1 19970101 1 29.33\n1 19970118 2 29.73\n2 19970102 2 20.76\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options("cdnow"))
    from shopmind.analytics.metrics import workspace_currency

    assert workspace_currency(ws) == "USD"  # the published column is dollar_value
    with duckdb_tables(ws) as tables:
        best = _text(items.build(tables) or "")
    assert "name no items" in best and "3" not in best  # no table of units
    recs = _text(render(recommendations, lambda: recommendations.build(ws)))
    assert "do not apply: no item interactions" in recs and "recommend train" not in recs
    # a shop with products still gets its table and its "how to make one" note
    (tmp_path / "retail").mkdir()
    shop = small_retail(tmp_path / "retail")
    with duckdb_tables(shop) as tables:
        assert "<table" in (items.build(tables) or "")
    assert "run shopmind recommend train" in _text(
        render(recommendations, lambda: recommendations.build(shop))
    )


def test_at_review_rates_known_answer() -> None:
    scores = np.array([90.0, 10.0, 80.0, 70.0, 5.0, 60.0, 1.0, 2.0, 3.0, 4.0])
    labels = np.array([1, 0, 0, 1, 1, 0, 0, 0, 0, 0])
    rows = at_review_rates(scores, labels, (0.1, 0.3, 0.5, 1.0))
    assert [r["reviewed"] for r in rows] == [1, 3, 5, 10]
    assert [r["bad_caught"] for r in rows] == [1, 2, 2, 3]
    assert [r["threshold"] for r in rows] == [90.0, 70.0, 10.0, 1.0]
    assert rows[1]["precision"] == pytest.approx(2 / 3)
    assert rows[2]["recall"] == pytest.approx(2 / 3) and rows[3]["recall"] == 1.0


def test_risk_section_shows_the_library_numbers(risk_ws: Workspace) -> None:
    page = risk.build(risk_ws)
    assert page is not None and 'data-chart="risk_scores"' in page
    text = _text(page)
    model = WorkspaceRisk.load(risk_ws).model
    scored, _ = score_workspace(risk_ws)  # what `shopmind risk score` writes
    counts = scored["decision"].value_counts()
    review_at, block_at = model.thresholds_
    assert (
        f"{len(scored):,} orders scored by the workspace model ({model.mode_}): "
        f"{int(counts.get('review', 0)):,} to review (score >= {review_at:g}) and "
        f"{int(counts.get('block', 0)):,} to block (score >= {block_at:g})"
    ) in text

    # precision / recall at review rates: the held-out validation rows saved at training
    validation = model.report_["validation"]
    assert f"On the {validation['rows']:,} held-out validation orders" in text
    for r in validation["review_rates"]:
        assert (
            f"{percent(r['review_rate'])} {r['reviewed']:,} {r['threshold']:.1f} "
            f"{r['bad_caught']:,} {percent(r['precision'])} {percent(r['recall'])}"
        ) in text
    assert "in sample" not in text
    for name, metrics in model.report_["validation"].items():
        if isinstance(metrics, dict) and "roc_auc" in metrics:
            assert f"{name.replace('_', ' ')} {metrics['roc_auc']:.3f}" in text

    # top reasons: the most frequent feature among flagged orders' reasons, counted here
    reasons = text.split("Top reasons")[1].split("Fraud rings")[0]
    first = re.search(r"share (.+?) (\d[\d,]*) \d+\.\d%", reasons)
    assert first is not None
    flagged_reasons = scored.loc[scored["decision"] != "allow", "reasons"]
    mentioned = flagged_reasons.map(lambda r: f"{first.group(1)} = " in r).sum()
    assert int(first.group(2).replace(",", "")) == mentioned > 0

    # rings: what `shopmind risk rings` lists, with its recovery against the labels
    rings = list_rings(risk_ws)
    assert f"{len(rings['rings']):,} rings of 3 or more accounts" in text
    recovery = rings["recovery"]
    assert f"{percent(recovery['precision'])} of ring members are labelled fraud" in text
    assert f"{percent(recovery['recall'])} of {recovery['true_members']:,} fraud accounts" in text
    assert all(r["ring_id"] in text for r in rings["rings"][: risk.TOP_RINGS])


@pytest.fixture
def assistant_ws(tmp_path: Path) -> tuple[Workspace, IntentModel]:
    """A workspace with an intent model (TF-IDF only: fast, no encoder) and 4 conversations,
    one handed over and one answered by an agent."""
    ws = small_retail(tmp_path)
    data = labelled(with_oos=True)
    model = IntentModel(encoder="none", oos_label="oos", c_grid=(4.0,)).fit(
        data["text"], data["intent"]
    )
    model.save(intent_model_path(ws))
    with ws.connect() as con:
        for i in range(4):
            conv = conversations.create_conversation(con, f"c{i}", f"u{i}", "en")
            conversations.add_message(con, conv.conversation_id, "customer", "where is my order")
            if i == 1:
                conv.handoff, conv.status = True, "handoff"
                conversations.save_conversation(con, conv)
        conversations.add_message(con, "c2", "agent", "it ships today", "order_status")
    return ws, model


def test_assistant_section_shows_the_saved_training_report(
    assistant_ws: tuple[Workspace, IntentModel],
) -> None:
    ws, model = assistant_ws
    page = assistant.build(ws)
    assert page is not None and 'data-chart="oos_tradeoff"' in page
    text = _text(page)
    report = model.report_
    assert (
        f"trained on {report['rows']:,} messages, {report['intents']} intents" in text
        and f"accuracy {percent(report['validation_accuracy'])} on "
        f"{report['validation_rows']:,} held-out validation messages"
        in text
    )
    oos = report["out_of_scope"]
    assert (
        f"{oos['threshold']:.2f} , where in-scope accuracy is "
        f"{percent(oos['in_scope_accuracy'])} and out-of-scope recall "
        f"{percent(oos['oos_recall'])}"
    ) in text
    by_threshold = {round(p["threshold"], 2): p for p in report["threshold_curve"]}
    for t in (0.0, 0.5, 0.9):
        p = by_threshold[t]
        assert f"{t:.1f} {percent(p['in_scope_accuracy'])} {percent(p['oos_recall'])}" in text
    # the saved report has no per-intent figures yet: the page says so instead of guessing
    assert "Accuracy per intent (validation) Not in the saved training report" in text
    assert "2 of 4 stored conversations ( 50.0% ) were answered without a person" in text


def test_assistant_section_renders_per_intent_figures_when_saved(
    assistant_ws: tuple[Workspace, IntentModel],
) -> None:
    ws, model = assistant_ws
    model.report_["per_intent"] = {
        "order_status": {"rows": 4, "accuracy": 1.0},
        "refund_request": {"rows": 4, "accuracy": 0.75},
    }
    model.report_["confused_pairs"] = [
        {"intent": "refund_request", "predicted": "order_status", "count": 1}
    ]
    model.save(intent_model_path(ws))
    text = _text(assistant.build(ws) or "")
    assert "intent validation messages accuracy refund_request 4 75.0% order_status 4" in text
    assert "intent taken for messages refund_request order_status 1" in text


def test_clv_section_states_what_its_figure_assumes(tmp_path: Path) -> None:
    """The 12-month CLV is revenue, undiscounted, a MAP point estimate, and (here) unchecked
    on a holdout; one-time buyers are alive for certain under BG/NBD. The page says so."""
    from shopmind.analytics.store import clv_model_dir
    from shopmind.models.clv import CLVConfig, CLVModel
    from shopmind.reports.sections import clv
    from tests.models.test_clv import _synthetic_transactions

    ws = small_retail(tmp_path)
    model = CLVModel(CLVConfig(time_unit="D")).fit(_synthetic_transactions())
    model.save(clv_model_dir(ws))
    page = _text(clv.build(ws) or "")
    assert "Assumptions: revenue, not margin; not discounted" in page
    assert "point estimates (no interval" in page and "Not checked on a holdout" in page
    once = int((model.summary_["frequency"] == 0).sum())
    assert once > 0 and f"{once:,} of {len(model.summary_):,} customers have P(alive) = 1" in page


def test_clv_and_propensity_sections_say_why_they_do_not_apply(
    tmp_path: Path, sim_ws: Workspace
) -> None:
    """The Taobao head: 9 days, no prices. 'run shopmind clv fit' and a 7-day propensity
    cannot work there; the sections give the reason instead."""
    from shopmind.ingest import ingest_file
    from shopmind.reports.sections import clv, propensity
    from tests.conftest import options

    rows = ["user_id,item_id,event_type,ts"]
    for user in range(12):
        for day in (17, 21, 25):
            rows.append(f"u{user},i{day},purchase,2017-11-{day}T10:00:00Z")
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options())
    assert "CLV does not apply" in _text(clv.build(ws) or "")
    assert "no purchase carries a price" in _text(clv.build(ws) or "")
    assert "try --horizon 2d" in _text(propensity.build(ws) or "")
    # 60 days of a priced shop: both apply (the shared workspace may hold models other
    # tests trained, so only the reasons' absence is asserted)
    assert "does not apply" not in (clv.build(sim_ws) or "")
    assert "No model:" not in (propensity.build(sim_ws) or "")
