"""Console sign-in sessions, held in the service's memory (they end with the server).

A session id is 32 random bytes (URL-safe text) given to the browser in an HttpOnly,
SameSite=Strict cookie; the store keeps only its SHA-256, so a memory dump does not hand
out live cookies. Each session carries its synchroniser CSRF token and ends after
``idle_seconds`` without a request (OWASP ASVS 3.3: idle timeout).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Sessions kept at most; the least recently used one goes first beyond this.
MAX_SESSIONS = 10_000


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class WebSession:
    """One signed-in browser: the key it traded, that key's role and the CSRF token."""

    key_id: str
    role: str
    name: str | None
    csrf: str
    last_seen: float
    flashes: list[str] = field(default_factory=list)

    @property
    def principal(self) -> str:
        """The audit trail's name for the signed-in key (as the API writes it)."""
        return f"key:{self.key_id}"


class SessionStore:
    """Thread-safe map of session id -> :class:`WebSession` with an idle timeout (seconds)."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def create(self, key_id: str, role: str, name: str | None) -> tuple[str, WebSession]:
        """A new session; returns (the cookie value, the session)."""
        session_id = secrets.token_urlsafe(32)
        session = WebSession(key_id, role, name, secrets.token_urlsafe(32), self._clock())
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen)
                del self._sessions[oldest]
            self._sessions[_digest(session_id)] = session
        return session_id, session

    def get(self, session_id: str | None) -> WebSession | None:
        """The live session for a cookie value (its idle clock restarts), else None."""
        if not session_id or len(session_id) > 100:
            return None
        digest = _digest(session_id)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(digest)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[digest]
                return None
            session.last_seen = now
            return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(_digest(session_id), None)

    def drop_key(self, key_id: str) -> int:
        """End every session of a key (after it is revoked); returns how many ended."""
        with self._lock:
            gone = [d for d, s in self._sessions.items() if s.key_id == key_id]
            for digest in gone:
                del self._sessions[digest]
        return len(gone)

    def __len__(self) -> int:
        return len(self._sessions)
