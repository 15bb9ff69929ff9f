"""Conversations on a simulated shop: answers for the identified customer only, slots,
escalation, agent replies, FAQ, entities."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from tests.assistant.conftest import labelled

from shopmind.assistant import entities
from shopmind.assistant.engine import Assistant, AssistantConfig, action_of
from shopmind.assistant.faq import load_faq
from shopmind.assistant.keywords import keyword_intent
from shopmind.assistant.store import ForeignConversationError, UnknownConversationError
from shopmind.errors import AssistantError
from shopmind.features.language import detect_language
from shopmind.models.intent import IntentModel
from shopmind.store import Workspace

NO_EMBED = AssistantConfig(faq_embeddings=False)


def _two_customers(ws: Workspace) -> tuple[str, str, str, str]:
    with ws.connect(read_only=True) as con:
        row = con.execute(
            "SELECT user_id, order_id FROM orders WHERE user_id IS NOT NULL "
            "ORDER BY order_id LIMIT 1"
        ).fetchone()
        assert row is not None
        other = con.execute(
            "SELECT user_id, order_id FROM orders WHERE user_id <> ? ORDER BY order_id LIMIT 1",
            [row[0]],
        ).fetchone()
        assert other is not None
    return row[0], row[1], other[0], other[1]


def test_language_and_entities() -> None:
    assert detect_language("Where is my order?") == "en"
    assert detect_language("我的订单o123456到哪里了") == "zh"
    assert detect_language("iPhone 15 手机壳有货吗") == "zh"
    assert detect_language("12345") == "en"
    today = dt.date(2025, 3, 10)
    found = entities.extract(
        "订单o00001234和#536365，3月2日下单，昨天还没到 2025-03-01",
        [("i1", "小米充电宝"), ("i2", "Mug")],
        today,
    )
    assert found.order_ids == ["o00001234", "536365"]
    assert found.dates == [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 9)]
    assert entities.products("我想买小米充电宝", [("i1", "小米充电宝")]) == [("i1", "小米充电宝")]
    assert entities.dates("I ordered on March 12", today) == [dt.date(2024, 3, 12)]
    assert entities.dates("3 days ago", today) == [dt.date(2025, 3, 7)]
    assert keyword_intent("我要退款") == "refund_request"
    assert keyword_intent("where is my package") == "order_status"
    assert action_of("order_status") == "status" and action_of("refund_request") == "refund"


def test_a_customer_never_reaches_another_customers_order(shop: Workspace) -> None:
    user, order, other_user, other_order = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        own = assistant.ask("c1", f"Where is my order {order}?", user)
        assert order in own.reply and own.action == "status"
        foreign = assistant.ask("c1", f"Where is my order {other_order}?")
        missing = assistant.ask("c1", "Where is my order o99999999?")
        for reply in (foreign, missing):
            assert reply.action == "order_not_found"
        # the other customer's order is answered exactly like one that does not exist
        assert foreign.reply.replace(other_order, "X") == missing.reply.replace("o99999999", "X")
        other = (
            assistant.connection()
            .execute("SELECT amount, status FROM orders WHERE order_id = ?", [other_order])
            .fetchone()
        )
        assert f"{other[0]:,.2f}" not in foreign.reply
        # nothing of the other order reaches the conversation state either
        assert assistant.conversation("c1")["state"]["slots"]["order_id"] == order
        zh = assistant.ask("c2", f"订单{other_order}退款了吗", user)
        assert zh.action == "order_not_found" and "没有找到" in zh.reply
        with pytest.raises(ForeignConversationError):
            assistant.ask("c1", "where is my order", other_user)


def test_slot_filling_and_answers(shop: Workspace) -> None:
    user, order, _, _ = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        asked = assistant.ask("c1", "我的订单到哪里了？", user)
        assert asked.action == "ask_order" and asked.language == "zh"
        assert assistant.conversation("c1")["state"]["asked"] == "order_id"
        filled = assistant.ask("c1", f"订单{order}")
        assert (
            filled.action == "status" and order in filled.reply and filled.intent == "order_status"
        )
        refund = assistant.ask("c1", "I want a refund")  # the order is remembered
        assert refund.action == "refund" and order in refund.reply
        assert assistant.ask("c1", "show me my recent orders").action == "orders"
        rec = assistant.ask("c1", "can you recommend something?")
        assert rec.action == "recommend" and rec.reply.startswith("You may also like")
        assert assistant.ask("c1", "hello").action == "greet"


def test_escalation_rules(shop: Workspace) -> None:
    user, _, _, _ = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        human = assistant.ask("h1", "Can I talk to a real person?", user)
        assert human.handoff and human.reason == "customer asked for a person"
        assert human.summary and human.summary.startswith("Handoff: customer asked for a person")
        waiting = assistant.ask("h1", "hello?")
        assert waiting.handoff and waiting.action == "waiting"
        assert assistant.ask("h2", "转人工", user).handoff
        angry = assistant.ask("a1", "This is ridiculous, worst service ever", user)
        assert angry.handoff and angry.reason == "angry wording"
        assert assistant.ask("a2", "气死我了，什么破服务", user).reason == "angry wording"
        first = assistant.ask("l1", "qwerty asdf", user)
        assert not first.handoff and first.action == "clarify"
        second = assistant.ask("l1", "zxcv uiop")
        assert second.handoff and second.reason == "low confidence twice"
        queue = assistant.list_conversations("handoff")
        assert {c["conversation_id"] for c in queue} == {"h1", "h2", "a1", "a2", "l1"}


def test_high_value_customer_with_a_problem_goes_to_a_person(shop: Workspace) -> None:
    with shop.connect(read_only=True) as con:
        top = con.execute(
            "SELECT user_id FROM orders GROUP BY user_id ORDER BY sum(amount) DESC LIMIT 1"
        ).fetchone()[0]
        low = con.execute(
            "SELECT user_id FROM orders GROUP BY user_id ORDER BY sum(amount) LIMIT 1"
        ).fetchone()[0]
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        vip = assistant.ask("v1", "I want a refund", top)
        assert vip.handoff and vip.reason == "high-value customer"
        assert "(high-value)" in (vip.summary or "")
        assert not assistant.ask("v2", "I want a refund", low).handoff
        assert not assistant.ask("v3", "hello", top).handoff


def test_agent_replies_are_stored_and_usable_for_training(shop: Workspace) -> None:
    user, _, _, _ = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        assistant.ask("g1", "I need a person, my parcel is damaged", user)
        out = assistant.agent_reply("g1", "alice", "Sorry! Sending a new one.", intent="damaged")
        assert out["status"] == "handoff" and out["assigned_agent"] == "alice"
        released = assistant.agent_reply("g1", "alice", "Anything else?", release=True)
        assert released["status"] == "open" and not released["handoff"]
        with pytest.raises(UnknownConversationError):
            assistant.agent_reply("nope", "alice", "hi")
        with pytest.raises(UnknownConversationError):
            assistant.ask("nope", "where is my order")
        with pytest.raises(AssistantError, match="Empty message"):
            assistant.ask("g1", " \n ")
        with pytest.raises(AssistantError, match="longer than 10,000"):
            assistant.ask("g1", "a" * 100_000)
        conv = assistant.conversation("g1")
        assert [m["role"] for m in conv["messages"]] == [
            "customer",
            "assistant",
            "agent",
            "agent",
        ]
    from shopmind.assistant.training import workspace_training_data

    data = workspace_training_data(shop)
    assert ("I need a person, my parcel is damaged", "damaged") in set(
        zip(data["text"], data["intent"], strict=True)
    )


def test_faq_answers_in_the_message_language(shop: Workspace) -> None:
    faq = pd.DataFrame(
        {
            "question": [
                "How long does shipping take?",
                "What is your return policy?",
                "运费怎么算？",
                "支持七天无理由退货吗？",
            ],
            "answer": [
                "Shipping takes 3-5 days.",
                "You can return items within 30 days.",
                "满99元包邮。",
                "支持七天无理由退货。",
            ],
        }
    )
    with shop.connect() as con:
        result = load_faq(con, faq, "faq.csv")
    assert result["loaded"] == 4 and result["languages"] == {"en": 2, "zh": 2}
    user, _, _, _ = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        en = assistant.ask("f1", "how long does the shipping take", user)
        assert en.reply == "Shipping takes 3-5 days." and en.faq and en.faq["score"] > 0.5
        zh = assistant.ask("f2", "运费是怎么算的", user)
        assert zh.reply == "满99元包邮。"
    with shop.connect() as con:  # reloading the same file replaces its entries
        assert load_faq(con, faq.head(2), "faq.csv")["replaced"] == 4
        assert con.execute("SELECT count(*) FROM faq").fetchone()[0] == 2


def test_trained_model_drives_the_conversation(shop: Workspace, fast_encoder: None) -> None:
    from shopmind.assistant.engine import intent_model_path

    data = labelled(with_oos=True)
    IntentModel(oos_label="oos", c_grid=(4.0,)).fit(data["text"], data["intent"]).save(
        intent_model_path(shop)
    )
    user, order, _, _ = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:
        assert assistant.model is not None
        reply = assistant.ask("m1", f"could you check where my parcel {order} is", user)
        assert reply.intent == "order_status" and reply.action == "status"
        joke = assistant.ask("m1", "tell me a joke")
        assert joke.intent == "oos" and joke.action == "clarify"


def test_a_confident_intent_without_an_answer_hands_off_with_its_confidence(
    shop: Workspace, fast_encoder: None
) -> None:
    from shopmind.assistant.engine import intent_model_path

    wrapping = [
        "do you offer gift wrapping",
        "can you wrap it as a present",
        "is gift wrap available",
        "please gift wrap this",
        "can i add a gift message and wrapping",
        "wrap it nicely for a birthday",
        "gift wrapping options",
        "do you have gift boxes",
    ]
    data = pd.concat(
        [labelled(), pd.DataFrame({"text": wrapping, "intent": "gift_wrapping"})],
        ignore_index=True,
    )
    IntentModel(c_grid=(4.0,)).fit(data["text"], data["intent"]).save(intent_model_path(shop))
    user, _, _, _ = _two_customers(shop)
    with Assistant.open(shop, config=NO_EMBED) as assistant:  # no FAQ loaded
        reply = assistant.ask("p1", "can you gift wrap it for my sister", user)
    assert reply.intent == "gift_wrapping" and reply.action == "handoff"
    summary = reply.summary or ""
    assert summary.startswith("Handoff: no answer for intent 'gift_wrapping'")
    assert f"Intent gift_wrapping ({reply.confidence:.2f})." in summary
    assert reply.confidence < 0.995  # the summary shows the model's confidence, not 1.00
    assert 'Last message: "can you gift wrap it for my sister"' in summary


def test_orders_on_a_day_read_in_the_shops_time_zone(
    shop: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "I ordered on March 3" means the shop's March 3 (SHOPMIND_TIMEZONE), not UTC's."""
    from shopmind.assistant import answers

    with shop.connect(read_only=True) as con:
        row = con.execute(
            "SELECT user_id, order_id, ts FROM orders WHERE user_id IS NOT NULL "
            "AND hour(ts) >= 17 ORDER BY order_id LIMIT 1"
        ).fetchone()
        assert row is not None
        user, order, ts = row
        utc_day = ts.astimezone(dt.UTC).date()
        assert order in [o.order_id for o in answers.orders_on(con, user, utc_day, 50)]
        monkeypatch.setenv("SHOPMIND_TIMEZONE", "Asia/Shanghai")  # UTC+8: the next day
        local = [o.order_id for o in answers.orders_on(con, user, utc_day + dt.timedelta(1), 50)]
        assert order in local
        assert order not in [o.order_id for o in answers.orders_on(con, user, utc_day, 50)]
