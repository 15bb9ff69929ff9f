"""The ``conversations`` and ``messages`` tables (migration 4).

Every message text passes :func:`shopmind.privacy.redact.redact_text` here, the one place
messages are written, so no caller can store a raw e-mail address or phone number. The
conversation summary is built from redacted texts only and is redacted again on write.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from shopmind.errors import AssistantError
from shopmind.privacy.redact import redact_text

Role = Literal["customer", "assistant", "agent"]
Status = Literal["open", "handoff", "closed"]
MAX_ID_CHARS = 128


class UnknownConversationError(AssistantError):
    """No conversation has this id."""


class ForeignConversationError(AssistantError):
    """The conversation belongs to another customer."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Conversation:
    conversation_id: str
    user_id: str
    language: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    status: Status = "open"
    handoff: bool = False
    summary: str | None = None
    assigned_agent: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "user_id": self.user_id,
            "language": self.language,
            "state": self.state,
            "status": self.status,
            "handoff": self.handoff,
            "summary": self.summary,
            "assigned_agent": self.assigned_agent,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def check_id(value: str | None, what: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise AssistantError(f"Empty {what}.", hint=f"Pass a non-empty {what}.")
    if len(text) > MAX_ID_CHARS or any(ch in text for ch in "\r\n\t\x00"):
        raise AssistantError(
            f"Invalid {what} (at most {MAX_ID_CHARS} characters on one line).",
            hint=f"Use a short {what} such as 'c-0001'.",
        )
    return text


def get_conversation(con: duckdb.DuckDBPyConnection, conversation_id: str) -> Conversation | None:
    row = con.execute(
        "SELECT conversation_id, user_id, language, state, status, handoff, summary, "
        "assigned_agent, created_at, updated_at FROM conversations WHERE conversation_id = ?",
        [conversation_id],
    ).fetchone()
    if row is None:
        return None
    return Conversation(
        conversation_id=row[0],
        user_id=row[1],
        language=row[2],
        state=json.loads(row[3]) if row[3] else {},
        status=row[4],
        handoff=bool(row[5]),
        summary=row[6],
        assigned_agent=row[7],
        created_at=row[8],
        updated_at=row[9],
    )


def require_conversation(con: duckdb.DuckDBPyConnection, conversation_id: str) -> Conversation:
    found = get_conversation(con, conversation_id)
    if found is None:
        raise UnknownConversationError(
            f"Unknown conversation '{conversation_id}'.",
            hint="Start it with a customer message that names the user "
            "(`shopmind assistant ask --conversation ID --user USER TEXT`), or list "
            "conversations with `shopmind assistant conversations`.",
        )
    return found


def create_conversation(
    con: duckdb.DuckDBPyConnection, conversation_id: str, user_id: str, language: str
) -> Conversation:
    now = _now()
    conv = Conversation(conversation_id, user_id, language, {}, "open", False, None, None, now, now)
    con.execute(
        "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            conv.conversation_id,
            conv.user_id,
            conv.language,
            json.dumps(conv.state),
            conv.status,
            conv.handoff,
            None,
            now,
            now,
            None,
        ],
    )
    return conv


def save_conversation(con: duckdb.DuckDBPyConnection, conv: Conversation) -> None:
    conv.updated_at = _now()
    con.execute(
        "UPDATE conversations SET language = ?, state = ?, status = ?, handoff = ?, summary = ?, "
        "updated_at = ?, assigned_agent = ? WHERE conversation_id = ?",
        [
            conv.language,
            json.dumps(conv.state, ensure_ascii=False, default=str),
            conv.status,
            conv.handoff,
            redact_text(conv.summary) if conv.summary else None,
            conv.updated_at,
            conv.assigned_agent,
            conv.conversation_id,
        ],
    )


def add_message(
    con: duckdb.DuckDBPyConnection,
    conversation_id: str,
    role: Role,
    text: str,
    intent: str | None = None,
    confidence: float | None = None,
) -> tuple[int, str]:
    """Store one message (redacted); returns its sequence number and the stored text."""
    stored = redact_text(text)
    seq = con.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
        [conversation_id],
    ).fetchone()
    assert seq is not None
    con.execute(
        "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
        [conversation_id, int(seq[0]), role, stored, intent, confidence, _now()],
    )
    return int(seq[0]), stored


def messages(con: duckdb.DuckDBPyConnection, conversation_id: str) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT seq, role, text, intent, confidence, ts FROM messages "
        "WHERE conversation_id = ? ORDER BY seq",
        [conversation_id],
    ).fetchall()
    keys = ("seq", "role", "text", "intent", "confidence", "ts")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def list_conversations(
    con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    sql = (
        "SELECT conversation_id, user_id, language, status, handoff, summary, assigned_agent, "
        "updated_at FROM conversations"
    )
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    sql += " ORDER BY updated_at DESC LIMIT ?"
    params.append(limit)
    keys = (
        "conversation_id",
        "user_id",
        "language",
        "status",
        "handoff",
        "summary",
        "assigned_agent",
        "updated_at",
    )
    return [dict(zip(keys, row, strict=True)) for row in con.execute(sql, params).fetchall()]


def training_pairs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Customer messages an agent labelled (the agent reply's ``intent``) with the agent's
    reply: usable as intent training data (``text,intent``) and as answers."""
    rows = con.execute(
        """
        SELECT c.conversation_id, c.seq, c.text, a.intent, a.text
        FROM messages a
        JOIN messages c
          ON c.conversation_id = a.conversation_id AND c.role = 'customer'
         AND c.seq = (SELECT max(seq) FROM messages p
                      WHERE p.conversation_id = a.conversation_id AND p.role = 'customer'
                        AND p.seq < a.seq)
        WHERE a.role = 'agent'
        ORDER BY c.conversation_id, c.seq
        """
    ).fetchall()
    keys = ("conversation_id", "seq", "text", "intent", "reply")
    return [dict(zip(keys, row, strict=True)) for row in rows]
