"""Suggested replies for an agent answering a handed-over conversation.

Three sources, in this order: the FAQ answers the assistant itself would give to the
customer's last message (retrieval score at least ``faq_min_score``, :meth:`FaqIndex.search`
in the message's language); what agents answered before to customer messages labelled with
the same intent (agent replies with an ``intent``: the training pairs of
:func:`shopmind.assistant.store.training_pairs`); then, to fill up, weaker FAQ matches
(score at least :data:`MIN_FAQ_SCORE`). Every text shown is as stored: redacted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import duckdb

from shopmind.assistant.engine import Assistant
from shopmind.assistant.faq import FaqIndex
from shopmind.features.language import detect_language

#: FAQ answers below this retrieval score are not suggested.
MIN_FAQ_SCORE = 0.2


_warming: set[int] = set()
_warming_lock = threading.Lock()


def faq_ready(assistant: Assistant) -> bool:
    """Whether the FAQ index is built (building it loads the sentence encoders: seconds)."""
    return assistant._faq is not None


def warm_faq(assistant: Assistant, connect: Callable[[], duckdb.DuckDBPyConnection]) -> None:
    """Build the FAQ index in a background thread (once per assistant), reading through
    ``connect()`` called in that thread (its own cursor: the assistant's connection stays
    with the request threads)."""
    with _warming_lock:
        if faq_ready(assistant) or id(assistant) in _warming:
            return
        _warming.add(id(assistant))

    def build() -> None:
        index = FaqIndex.from_workspace(connect(), assistant.config.faq_embeddings)
        if assistant._faq is None:
            assistant._faq = index

    threading.Thread(target=build, name="shopmind-faq-warm-up", daemon=True).start()


def last_customer_message(conversation: dict[str, Any]) -> dict[str, Any] | None:
    customer = [m for m in conversation.get("messages", []) if m.get("role") == "customer"]
    return customer[-1] if customer else None


def suggested_replies(
    assistant: Assistant,
    conversation: dict[str, Any],
    k: int = 3,
    *,
    faq: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[dict[str, Any]]:
    """Up to ``k`` suggestions ``{text, source, detail, score}`` for ``conversation`` (as
    returned by :meth:`Assistant.conversation`); empty when the customer said nothing.
    ``faq=False`` leaves the FAQ out (e.g. while its index is still being built); ``con``: a
    read connection of this thread for earlier replies (default: the assistant's, locked)."""
    last = last_customer_message(conversation)
    if last is None:
        return []
    text = str(last["text"])
    language = conversation.get("language") or detect_language(text)
    strong: list[dict[str, Any]] = []
    weak: list[dict[str, Any]] = []
    index = assistant.faq() if faq else None
    if index is not None and len(index):
        for hit in index.search(text, k=k, language=language):
            entry = {"text": hit.answer, "source": "faq", "detail": hit.question}
            if hit.score >= assistant.config.faq_min_score:
                strong.append({**entry, "score": hit.score})
            elif hit.score >= MIN_FAQ_SCORE:
                weak.append({**entry, "score": hit.score})
    found = strong
    intent = last.get("intent")
    if intent:
        sql = (
            "SELECT text, count(*) AS n, max(ts) FROM messages WHERE role = 'agent' "
            "AND intent = ? GROUP BY text ORDER BY n DESC, max(ts) DESC LIMIT ?"
        )
        if con is not None:
            rows = con.execute(sql, [intent, k]).fetchall()
        else:
            with assistant._lock:  # the assistant's one connection, shared by threads
                rows = assistant.connection().execute(sql, [intent, k]).fetchall()
        for reply, n, _ in rows:
            found.append(
                {"text": reply, "source": "past replies", "detail": f"{intent} x{n}", "score": None}
            )
    seen: set[str] = set()
    unique = []
    for item in found + weak:
        if item["text"] not in seen:
            seen.add(item["text"])
            unique.append(item)
    return unique[:k]


__all__ = ["faq_ready", "last_customer_message", "suggested_replies", "warm_faq"]
