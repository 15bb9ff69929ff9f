"""The assistant: one customer message in, one reply out, with the conversation kept in the
workspace.

For each message: the text is checked (not empty, at most 10,000 characters) and redacted;
the language is detected; an explicit request for a person or angry wording hands the
conversation to a person at once; otherwise the intent is classified (the trained model in
``models/assistant/intent.pkl``, or keyword rules before one is trained), order ids, dates and
products are extracted, and the reply is built from the workspace for this conversation's
customer only (order status, last orders, refund state, "you may also like") or from the FAQ.
When the intent is unsure twice in a row, when a high-value customer has a problem, or when
nothing answers a confident intent, the conversation is handed off with a short summary for
the agent. Agents' replies are stored too (with an intent label they may give) and serve as
training data (``shopmind assistant export``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from shopmind.assistant import answers, entities, escalation, store
from shopmind.assistant.faq import FaqHit, FaqIndex
from shopmind.assistant.keywords import keyword_intent
from shopmind.features.language import detect_language
from shopmind.models.intent import IntentModel, check_texts
from shopmind.privacy.redact import redact_text
from shopmind.store import Workspace


def intent_model_path(workspace: Workspace) -> Path:
    return workspace.models_dir / "assistant" / "intent.pkl"


class AssistantConfig(BaseModel):
    """low_confidence: an intent below this probability is unsure. faq_min_score: a FAQ
    answer is given from this retrieval score. high_value_share: the top share of customers by
    spend counts as high-value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    low_confidence: float = Field(0.5, ge=0, le=1)
    faq_min_score: float = Field(0.55, ge=0, le=1)
    high_value_share: float = Field(0.05, gt=0, lt=1)
    faq_embeddings: bool = True
    max_text_chars: int = Field(10_000, ge=1)


@dataclass
class Reply:
    conversation_id: str
    reply: str
    intent: str
    confidence: float
    handoff: bool
    language: str
    status: str
    action: str
    reason: str | None = None
    summary: str | None = None
    entities: dict[str, Any] = field(default_factory=dict)
    faq: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- wording --------------------------------------------------------------------------------
STATUS_ZH = {
    "completed": "已完成",
    "refunded": "已退款",
    "partially_refunded": "部分退款",
    "shipped": "已发货",
    "delivered": "已送达",
    "pending": "待处理",
    "processing": "处理中",
    "paid": "已付款",
    "cancelled": "已取消",
    "canceled": "已取消",
}

TEXT: dict[str, dict[str, str]] = {
    "greet": {
        "en": "Hello! I can check your orders, refunds and deliveries, or answer questions. "
        "How can I help?",
        "zh": "您好！我可以帮您查询订单、退款和物流，或者解答问题。请问有什么可以帮您？",
    },
    "ask_order": {
        "en": "Which order do you mean? {recent}",
        "zh": "请问是哪个订单呢？{recent}",
    },
    "recent": {"en": "Your recent orders: {orders}.", "zh": "您最近的订单：{orders}。"},
    "no_orders": {
        "en": "I can't find any orders on your account.",
        "zh": "您的账户下没有找到订单。",
    },
    "not_yours": {
        "en": "I can't find order {order} on your account. Please check the number.",
        "zh": "在您的账户下没有找到订单{order}，请核对订单号。",
    },
    "status": {
        "en": "Order {order} (placed {date}, {amount}) is {status}.",
        "zh": "订单{order}（{date}下单，金额{amount}）的状态：{status}。",
    },
    "refund_done": {
        "en": "Order {order}: {refunded} has been refunded (order status: {status}).",
        "zh": "订单{order}已退款{refunded}（订单状态：{status}）。",
    },
    "refund_none": {
        "en": "Order {order} ({status}) has no refund yet. I've noted your request; refunds "
        "are usually processed within 3-5 working days.",
        "zh": "订单{order}（{status}）目前还没有退款。已记录您的申请，"
        "退款一般在3-5个工作日内处理。",
    },
    "cancel": {
        "en": "Order {order} is {status}. I've noted your cancellation request; you'll get a "
        "confirmation once it is processed.",
        "zh": "订单{order}状态：{status}。已记录您的取消申请，处理后会通知您。",
    },
    "address": {
        "en": "Order {order} is {status}. Send me the new address and I'll pass it on; "
        "addresses can be changed until the parcel ships.",
        "zh": "订单{order}状态：{status}。请发送新的收货地址，发货前都可以修改。",
    },
    "payment": {
        "en": "Order {order} ({amount}) is {status}. I've noted the payment problem for our "
        "payments team.",
        "zh": "订单{order}（金额{amount}）状态：{status}。已为您记录付款问题，财务同事会核查。",
    },
    "orders": {"en": "Your last orders: {orders}.", "zh": "您最近的订单：{orders}。"},
    "recommend": {"en": "You may also like: {items}.", "zh": "猜你喜欢：{items}。"},
    "product": {"en": "{items}.", "zh": "{items}。"},
    "clarify": {
        "en": "Sorry, I'm not sure I understood. Could you rephrase, or give your order number?",
        "zh": "抱歉，我没太明白您的意思，可以换个说法或者提供订单号吗？",
    },
    "handoff": {
        "en": "I'm passing you to a colleague who will reply here shortly.",
        "zh": "正在为您转接人工客服，请稍候。",
    },
    "waiting": {
        "en": "A colleague has your conversation and will reply here shortly.",
        "zh": "人工客服已接入，请稍候，马上回复您。",
    },
}

#: Action per intent, by words of the intent name (first match wins). An English key
#: matches whole words of the name, or a word it begins with an ending (``deliver`` in
#: ``delivery``, ``track`` in ``tracking``; not ``pay`` in ``payday``); a key of several
#: words (``last_orders``) matches them in a row; Chinese keys match anywhere.
ACTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("handoff", ("human", "agent", "person", "representative", "转人工", "人工")),
    ("greet", ("greet", "hello", "问候", "打招呼")),
    ("recommend", ("recommend", "suggest", "also_like", "推荐")),
    ("orders", ("last_orders", "order_history", "my_orders", "recent_orders")),
    ("refund", ("refund", "return", "money_back", "退款", "退货")),
    ("cancel", ("cancel", "取消")),
    ("payment", ("payment", "charge", "pay", "付款", "支付")),
    ("address", ("address", "地址")),
    (
        "status",
        (
            "status",
            "track",
            "where_is",
            "where_are_my",
            "wismo",
            "deliver",
            "ship",
            "delay",
            "arriv",
            "发货",
            "物流",
            "到货",
        ),
    ),
    ("product", ("product", "item", "size", "stock", "商品", "尺码")),
]
ORDER_ACTIONS = {"refund", "cancel", "payment", "address", "status"}


#: endings a key may take inside one word of an intent name (deliver-y, cancel-led)
_ENDINGS = frozenset(
    {
        "",
        "s",
        "es",
        "ed",
        "d",
        "ing",
        "ings",
        "ping",
        "ped",
        "led",
        "ment",
        "ments",
        "y",
        "ies",
        "ery",
        "al",
        "e",
        "ion",
        "ions",
        "ation",
        "ations",
        "lation",
        "lations",
        "er",
        "ers",
        "back",
    }
)
#: words that may follow a key in one word (``trackorder``)
_JOINED = frozenset(("order", "orders", "item", "items", "package", "parcel"))


def _word_has(word: str, key: str) -> bool:
    """``key`` with an ending, or followed by a joined word, at the start of ``word``; or,
    for keys of five letters or more, closing a compound (``prepayment``, ``overcharged``,
    ``restock``, ``redelivery``; not ``relationship`` for ``ship``)."""
    if word.startswith(key):
        rest = word[len(key) :]
        if rest in _ENDINGS or any(rest == j or rest[1:] == j for j in _JOINED):
            return True
    if len(key) >= 5:
        return any(word.endswith(key + ending) for ending in _ENDINGS)
    return False


def _has_key(words: list[str], key: str) -> bool:
    if not key.isascii():
        return key in "".join(words)
    parts = key.split("_")
    for i in range(len(words) - len(parts) + 1):
        head, last = words[i : i + len(parts) - 1], words[i + len(parts) - 1]
        if head == parts[:-1] and _word_has(last, parts[-1]):
            return True
    return False


def action_of(intent: str) -> str:
    """The assistant's action for an intent name (``faq`` when no key matches)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", intent)  # camelCase -> camel_case
    words = [w for w in re.split(r"[^0-9a-z\u4e00-\u9fff]+", spaced.lower()) if w]
    for action, keys in ACTIONS:
        if any(_has_key(words, key) for key in keys):
            return action
    return "faq"


def _say(key: str, language: str, **values: Any) -> str:
    return TEXT[key]["zh" if language == "zh" else "en"].format(**values)


def _money(amount: float | None, currency: str | None) -> str:
    return "-" if amount is None else f"{amount:,.2f} {currency or ''}".strip()


def _status(status: str, language: str) -> str:
    if language == "zh":
        return STATUS_ZH.get(status, status)
    return status.replace("_", " ")


# -- the assistant --------------------------------------------------------------------------
class Assistant:
    """Answers customer messages for one workspace. Thread-safe (one lock around each
    message); holds one DuckDB connection while open (DuckDB allows one writing process per
    file), see :meth:`open`."""

    def __init__(
        self,
        workspace: Workspace,
        config: AssistantConfig | None = None,
        model: IntentModel | None = None,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """``connection``: use this open connection (e.g. a cursor of a server's own
        connection) instead of opening the workspace; it is not closed here."""
        self.workspace = workspace
        self.config = config or AssistantConfig()
        path = intent_model_path(workspace)
        self.model = (
            model if model is not None else (IntentModel.load(path) if path.exists() else None)
        )
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = connection
        self._owned = connection is None
        self._migrated = False
        self._faq: FaqIndex | None = None
        self._titles: list[tuple[str, str]] | None = None
        self._high_value: float | bool | None = False  # False: not computed yet
        self.recommendations = answers.Recommendations(workspace)

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def open(cls, workspace: Workspace, **kwargs: Any) -> Iterator[Assistant]:
        assistant = cls(workspace, **kwargs)
        try:
            yield assistant
        finally:
            assistant.close()

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if not self.workspace.exists():
                self.workspace.init()
            ctx = self.workspace.connect()
            self._con = ctx.__enter__()
            self._ctx = ctx
        if not self._migrated:
            from shopmind.store.migrations import migrate

            migrate(self._con)  # older workspaces get the conversation tables
            self._migrated = True
        return self._con

    def close(self) -> None:
        if self._con is not None and self._owned:
            self._ctx.__exit__(None, None, None)
            self._con = None

    def warm_up(self) -> None:
        """Load what the first messages would otherwise wait for: the encoders of both
        languages, the FAQ index, the catalogue titles and the high-value threshold."""
        with self._lock:
            con = self.connection()
            self.faq()
            self._titles_cached(con)
            self._is_high_value(con, "")
            for text in ("hello", "你好"):
                self.classify(text)
                if len(self.faq()):
                    self.faq().search(text, k=1)

    def reload_faq(self) -> None:
        self._faq = None

    def faq(self) -> FaqIndex:
        if self._faq is None:
            self._faq = FaqIndex.from_workspace(self.connection(), self.config.faq_embeddings)
        return self._faq

    # -- classification -------------------------------------------------------------------
    def classify(self, text: str) -> tuple[str, float, bool]:
        """(intent, confidence, out_of_scope) for one redacted message."""
        if self.model is not None:
            row = self.model.predict([text]).iloc[0]
            return str(row["intent"]), float(row["confidence"]), bool(row["out_of_scope"])
        found = keyword_intent(text)
        return (found, 0.9, False) if found else ("unknown", 0.0, True)

    def _is_high_value(self, con: duckdb.DuckDBPyConnection, user_id: str) -> bool:
        if self._high_value is False:
            self._high_value = answers.high_value_threshold(con, self.config.high_value_share)
        threshold = self._high_value
        if threshold is None or threshold is True:
            return False
        spend = answers.customer_spend(con, user_id)
        return spend > 0 and spend >= float(threshold)

    def _titles_cached(self, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
        if self._titles is None:
            self._titles = [(i, t) for i, t in answers.item_titles(con) if len(t) >= 4]
        return self._titles

    # -- one message ----------------------------------------------------------------------
    def ask(self, conversation_id: str, text: str, user_id: str | None = None) -> Reply:
        """Answer one customer message; starts the conversation when ``user_id`` is given and
        the id is new."""
        conversation_id = store.check_id(conversation_id, "conversation id")
        raw = check_texts([text], what="message", max_chars=self.config.max_text_chars)[0]
        with self._lock:
            con = self.connection()
            con.execute("BEGIN TRANSACTION")
            try:
                reply = self._ask(con, conversation_id, raw, user_id)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return reply

    def _ask(
        self, con: duckdb.DuckDBPyConnection, cid: str, raw: str, user_id: str | None
    ) -> Reply:
        language = detect_language(raw)
        conv = store.get_conversation(con, cid)
        if conv is None:
            if user_id is None:
                store.require_conversation(con, cid)  # raises: unknown conversation
            assert user_id is not None
            conv = store.create_conversation(con, cid, store.check_id(user_id, "user id"), language)
        elif user_id is not None and store.check_id(user_id, "user id") != conv.user_id:
            raise store.ForeignConversationError(
                f"Conversation '{cid}' belongs to another customer.",
                hint="Start a new conversation id for this customer.",
            )
        conv.language = language
        if conv.status == "closed":
            conv.status, conv.handoff = "open", False
        text = redact_text(raw)  # the model, the rules and the summary see the redacted text
        state = conv.state
        state.setdefault("slots", {})
        state.setdefault("low_confidence", 0)

        if conv.handoff:
            intent, confidence, _ = self.classify(text)
            store.add_message(con, cid, "customer", text, intent, confidence)
            reply = _say("waiting", language)
            store.add_message(con, cid, "assistant", reply)
            store.save_conversation(con, conv)
            return self._reply(conv, reply, intent, confidence, "waiting", language)

        found = entities.extract(text, self._titles_cached(con))
        reason: str | None = None
        if escalation.asks_for_human(text):
            intent, confidence, oos = "human_agent", 1.0, False
            reason = "customer asked for a person"
        else:
            intent, confidence, oos = self.classify(text)
            if escalation.is_angry(text):
                reason = "angry wording"

        if found.order_ids and (oos or confidence < self.config.low_confidence):
            # an order id on its own answers the question asked before (or asks its status)
            last = state.get("last_intent")
            carried = state.get("pending_intent") or (
                last if last and action_of(str(last)) in ORDER_ACTIONS else "order_status"
            )
            intent, confidence, oos = carried, max(confidence, self.config.low_confidence), False
        action = action_of(intent) if not oos else "clarify"
        faq_hit: FaqHit | None = None
        if action in {"faq", "clarify", "product"} or confidence < self.config.low_confidence:
            hits = self.faq().search(text, k=1, language=language) if len(self.faq()) else []
            if hits and hits[0].score >= self.config.faq_min_score:
                faq_hit = hits[0]
        unsure = (oos or confidence < self.config.low_confidence) and faq_hit is None
        if unsure:
            state["low_confidence"] = int(state["low_confidence"]) + 1
            action = "clarify"
            if state["low_confidence"] >= 2 and reason is None:
                reason = "low confidence twice"
        else:
            state["low_confidence"] = 0
        if action == "handoff" and reason is None:
            reason = "customer asked for a person"
        if (
            reason is None
            and (unsure or escalation.is_problem(intent))
            and self._is_high_value(con, conv.user_id)
        ):
            reason = "high-value customer"

        store.add_message(con, cid, "customer", text, intent, confidence)
        order: answers.Order | None = None
        if reason is not None:
            order = self._order_for(con, conv, found, remember_only=True)
            reply = _say("handoff", language)
            action = "handoff"
            conv.handoff, conv.status = True, "handoff"
            conv.summary = self._summary(conv, reason, intent, confidence, order, text)
        else:
            reply, action, order = self._answer(
                con, conv, action, (intent, confidence, text), found, faq_hit, language
            )
        state["last_intent"] = intent
        state["language"] = language
        if order is not None:
            state["slots"]["order_id"] = order.order_id
        if found.dates:
            state["slots"]["date"] = found.dates[0].isoformat()
        if found.products:
            state["slots"]["item_id"] = found.products[0][0]
        store.add_message(con, cid, "assistant", reply, intent if action != "handoff" else None)
        store.save_conversation(con, conv)
        return self._reply(
            conv,
            reply,
            intent,
            confidence,
            action,
            language,
            reason=reason,
            entities=found.to_dict(),
            faq=None if faq_hit is None else {"question": faq_hit.question, "score": faq_hit.score},
        )

    def _reply(
        self,
        conv: store.Conversation,
        reply: str,
        intent: str,
        confidence: float,
        action: str,
        language: str,
        **extra: Any,
    ) -> Reply:
        return Reply(
            conversation_id=conv.conversation_id,
            reply=reply,
            intent=intent,
            confidence=round(float(confidence), 4),
            handoff=conv.handoff,
            language=language,
            status=conv.status,
            action=action,
            summary=conv.summary if conv.handoff else None,
            **extra,
        )

    def _order_for(
        self,
        con: duckdb.DuckDBPyConnection,
        conv: store.Conversation,
        found: entities.Entities,
        remember_only: bool = False,
    ) -> answers.Order | None:
        """The customer's order the message (or the conversation) refers to, or None."""
        for candidate in found.order_ids:
            order = answers.customer_order(con, conv.user_id, candidate)
            if order is not None:
                return order
        if found.order_ids:
            return None
        for day in found.dates:
            on_day = answers.orders_on(con, conv.user_id, day)
            if len(on_day) == 1:
                return on_day[0]
        remembered = conv.state.get("slots", {}).get("order_id")
        if remembered:
            return answers.customer_order(con, conv.user_id, str(remembered))
        if not remember_only and conv.state.get("asked") == "order_id":
            latest = answers.last_orders(con, conv.user_id, 1)
            return latest[0] if latest else None
        return None

    def _answer(
        self,
        con: duckdb.DuckDBPyConnection,
        conv: store.Conversation,
        action: str,
        message: tuple[str, float, str],
        found: entities.Entities,
        faq_hit: FaqHit | None,
        language: str,
    ) -> tuple[str, str, answers.Order | None]:
        """The reply to one customer message: ``message`` is its (intent, confidence,
        redacted text)."""
        intent, confidence, said = message
        state = conv.state
        user = conv.user_id
        zh = language == "zh"
        if action == "clarify" and faq_hit is None:
            return _say("clarify", language), action, None
        if action == "greet":
            return _say("greet", language), action, None
        if action in ORDER_ACTIONS:
            order = self._order_for(con, conv, found)
            if order is None:
                recent = answers.last_orders(con, user, 3)
                listed = ", ".join(f"{o.order_id} ({o.ts:%Y-%m-%d})" for o in recent)
                if found.order_ids:
                    text = _say("not_yours", language, order=found.order_ids[0])
                    if listed:
                        text += " " + _say("recent", language, orders=listed)
                    state["asked"], state["pending_intent"] = "order_id", intent
                    return text, "order_not_found", None
                if not recent:
                    return _say("no_orders", language), "no_orders", None
                state["asked"], state["pending_intent"] = "order_id", intent
                return (
                    _say("ask_order", language, recent=_say("recent", language, orders=listed)),
                    "ask_order",
                    None,
                )
            state.pop("asked", None)
            state.pop("pending_intent", None)
            values = {
                "order": order.order_id,
                "date": f"{order.ts:%Y-%m-%d}",
                "amount": _money(order.amount, order.currency),
                "status": _status(order.status, language),
            }
            if action == "refund":
                if order.refunded > 0 or "refund" in order.status:
                    refunded = _money(order.refunded or order.amount, order.currency)
                    return _say("refund_done", language, refunded=refunded, **values), action, order
                return _say("refund_none", language, **values), action, order
            text = _say(action, language, **values)
            if faq_hit is not None and action != "status":
                text += " " + faq_hit.answer
            return text, action, order
        if action == "orders":
            recent = answers.last_orders(con, user, 3)
            if not recent:
                return _say("no_orders", language), action, None
            listed = "; ".join(
                f"{o.order_id} ({o.ts:%Y-%m-%d}, {_money(o.amount, o.currency)}, "
                f"{_status(o.status, language)})"
                for o in recent
            )
            return _say("orders", language, orders=listed), action, None
        if action == "recommend":
            items, _source = self.recommendations.for_user(con, user, 3)
            names = answers.titles_of(con, items, zh)
            listed = ", ".join(names.get(i, i) for i in items)
            if not listed:
                return _say("clarify", language), "clarify", None
            return _say("recommend", language, items=listed), action, None
        if faq_hit is not None:
            return faq_hit.answer, "faq", None
        if action == "product" and found.products:
            item_ids = [i for i, _ in found.products]
            rows = con.execute(
                "SELECT item_id, title, title_zh, price, in_stock FROM items WHERE item_id IN "
                f"({', '.join('?' for _ in item_ids)})",
                item_ids,
            ).fetchall()
            parts = []
            for item_id, title, title_zh, price, in_stock in rows:
                name = (title_zh if zh and title_zh else title) or item_id
                stock = (
                    ""
                    if in_stock is None
                    else (
                        ("有货" if in_stock else "缺货")
                        if zh
                        else ("in stock" if in_stock else "out of stock")
                    )
                )
                parts.append(f"{name}: {_money(price, None)} {stock}".strip())
            if parts:
                return _say("product", language, items="; ".join(parts)), action, None
        # a confident intent nothing here can answer: a person takes it
        conv.handoff, conv.status = True, "handoff"
        conv.summary = self._summary(
            conv, f"no answer for intent '{intent}'", intent, confidence, None, said
        )
        return _say("handoff", language), "handoff", None

    def _summary(
        self,
        conv: store.Conversation,
        reason: str,
        intent: str,
        confidence: float,
        order: answers.Order | None,
        text: str,
    ) -> str:
        parts = [f"Handoff: {reason}.", f"Customer {conv.user_id}"]
        if reason == "high-value customer":
            parts[-1] += " (high-value)"
        parts[-1] += f", language {conv.language}."
        parts.append(f"Intent {intent} ({confidence:.2f}).")
        if order is not None:
            parts.append(f"Order {order.order_id} ({order.status}).")
        if text:
            short = text if len(text) <= 160 else text[:157] + "..."
            parts.append(f'Last message: "{short}"')
        return redact_text(" ".join(parts))

    # -- agents ---------------------------------------------------------------------------
    def agent_reply(
        self,
        conversation_id: str,
        agent: str,
        text: str,
        intent: str | None = None,
        release: bool = False,
        close: bool = False,
    ) -> dict[str, Any]:
        """Store an agent's reply (redacted). ``intent`` labels the customer's last message
        (training data); ``release`` gives the conversation back to the assistant; ``close``
        ends it."""
        conversation_id = store.check_id(conversation_id, "conversation id")
        agent = store.check_id(agent, "agent name")
        text = check_texts([text], what="reply", max_chars=self.config.max_text_chars)[0]
        with self._lock:
            con = self.connection()
            con.execute("BEGIN TRANSACTION")
            try:
                conv = store.require_conversation(con, conversation_id)
                seq, stored = store.add_message(con, conversation_id, "agent", text, intent, None)
                conv.assigned_agent = agent
                if close:
                    conv.status, conv.handoff = "closed", False
                elif release:
                    conv.status, conv.handoff = "open", False
                    conv.state["low_confidence"] = 0
                store.save_conversation(con, conv)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return {
            "conversation_id": conversation_id,
            "seq": seq,
            "text": stored,
            "intent": intent,
            "status": conv.status,
            "handoff": conv.handoff,
            "assigned_agent": agent,
        }

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        with self._lock:
            con = self.connection()
            conv = store.require_conversation(
                con, store.check_id(conversation_id, "conversation id")
            )
            return {**conv.to_dict(), "messages": store.messages(con, conversation_id)}

    def list_conversations(
        self, status: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        with self._lock:
            return store.list_conversations(self.connection(), status, limit)
