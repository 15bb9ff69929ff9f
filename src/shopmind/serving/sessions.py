"""What each anonymous session did so far: stored events plus those the service just took.

A session's history is read from ``events`` once, then kept in memory (least recently used
sessions are forgotten first) and extended by the writer after every commit, so the next
session recommendation sees an event as soon as it is acknowledged. Entries are keyed by
``event_id``, so an event both read from the table and added by the writer counts once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime

from shopmind.features.sequences import INTERACTION_TYPES

Event = tuple[str, str, datetime, str]  # event_id, item_id, ts, event_type
Loader = Callable[[str], Iterable[Event]]


class SessionHistory:
    def __init__(self, load: Loader, max_sessions: int = 50_000, max_events: int = 1000) -> None:
        self._load = load
        self.max_sessions = max_sessions
        self.max_events = max_events
        self._sessions: OrderedDict[str, dict[str, tuple[datetime, str]]] = OrderedDict()
        # held while a session is read from the table, so the writer's additions for it
        # land after the read (and dedupe against it) instead of being lost
        self._lock = threading.Lock()

    def add(self, sessions: dict[str, list[Event]]) -> None:
        """Events just committed; sessions not in memory are read in full when asked for."""
        with self._lock:
            for sid, events in sessions.items():
                known = self._sessions.get(sid)
                if known is None:
                    continue
                for event_id, item, ts, event_type in events:
                    if event_type in INTERACTION_TYPES:
                        known[event_id] = (ts, item)
                self._trim(known)

    def items(self, session_id: str) -> list[str]:
        """The session's item ids in time order (empty for a session without events)."""
        with self._lock:
            known = self._sessions.get(session_id)
            if known is None:
                known = {
                    event_id: (ts, item)
                    for event_id, item, ts, event_type in self._load(session_id)
                    if event_type in INTERACTION_TYPES
                }
                self._trim(known)
                self._sessions[session_id] = known
                if len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
            else:
                self._sessions.move_to_end(session_id)
            ordered = sorted(known.items(), key=lambda kv: (kv[1][0], kv[0]))
        return [item for _, (_, item) in ordered]

    def _trim(self, known: dict[str, tuple[datetime, str]]) -> None:
        if len(known) > self.max_events:
            newest = sorted(known.items(), key=lambda kv: (kv[1][0], kv[0]))[-self.max_events :]
            known.clear()
            known.update(newest)
