"""The service's one writer: a thread that owns the workspace's write connection.

Requests hand it events (``submit_events``), key changes (``submit_call``) and audit
entries (``audit``); it lands whatever is pending in one transaction (a micro-batch: the
requests that arrived while the previous batch was committing), then answers each request.
An event is acknowledged only after its transaction committed, so a stop - graceful or
``kill -9`` - never loses an acknowledged event (DuckDB replays its write-ahead log on the
next open). Queues are bounded: past ``max_pending_events`` a submit raises :class:`Busy`
and the API answers 503 with Retry-After instead of growing memory.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import duckdb

from shopmind.errors import ShopmindError
from shopmind.serving.events import EventLoader, Landed
from shopmind.serving.sessions import SessionHistory
from shopmind.store.audit import AuditChain, AuditEntry

log = logging.getLogger("shopmind.serving")


class Busy(Exception):
    """The writer is behind; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class EventsOutcome:
    """One request's share of a landed batch (indexes into the request's list)."""

    accepted: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    quarantined: dict[int, str] = field(default_factory=dict)


@dataclass
class _EventsJob:
    events: list[dict[str, Any]]
    audit: AuditEntry
    future: Future[EventsOutcome] = field(default_factory=Future)


@dataclass
class _CallJob:
    work: Callable[[duckdb.DuckDBPyConnection], Any]
    audit: AuditEntry
    future: Future[Any] = field(default_factory=Future)


class Writer:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        loader: EventLoader,
        chain: AuditChain,
        sessions: SessionHistory,
        *,
        max_pending_events: int = 50_000,
        max_batch_events: int = 5_000,
        max_pending_audit: int = 200_000,
        audit_interval: float = 0.2,
    ) -> None:
        self.con = con
        self.loader = loader
        self.chain = chain
        self.sessions = sessions
        self.max_pending_events = max_pending_events
        self.max_batch_events = max_batch_events
        self.max_pending_audit = max_pending_audit
        self.audit_interval = audit_interval
        self._cond = threading.Condition()
        self._jobs: list[_EventsJob | _CallJob] = []
        self._pending_events = 0
        self._audit: list[AuditEntry] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="shopmind-writer", daemon=True)
        self.batches = 0
        #: called with each committed batch (e.g. to update in-memory risk velocities)
        self.listeners: list[Callable[[Landed], None]] = []

    # -- producers (any thread) ---------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        self._thread.start()

    def check_capacity(self) -> None:
        """Raise Busy when the audit backlog is full (requests are then refused, not lost)."""
        if len(self._audit) >= self.max_pending_audit or not self._thread.is_alive():
            raise Busy("The service's writer is behind; retry shortly.")

    def submit_events(
        self, events: list[dict[str, Any]], audit: AuditEntry
    ) -> Future[EventsOutcome]:
        job = _EventsJob(events, audit)
        with self._cond:
            if self._stopping or not self._thread.is_alive():
                raise Busy("The service is stopping; retry against the restarted service.", 5)
            if self._pending_events + len(events) > self.max_pending_events:
                raise Busy(
                    f"{self._pending_events} events are waiting to be written and "
                    f"{len(events)} more would pass the limit of {self.max_pending_events}; "
                    "retry shortly (or send smaller batches)."
                )
            self._jobs.append(job)
            self._pending_events += len(events)
            self._cond.notify()
        return job.future

    def submit_call(
        self, work: Callable[[duckdb.DuckDBPyConnection], Any], audit: AuditEntry
    ) -> Future[Any]:
        job = _CallJob(work, audit)
        with self._cond:
            if self._stopping or not self._thread.is_alive():
                raise Busy("The service is stopping.", 5)
            self._jobs.append(job)
            self._cond.notify()
        return job.future

    def audit(self, entry: AuditEntry) -> None:
        with self._cond:
            self._audit.append(entry)
            if len(self._audit) == 1:
                self._cond.notify()

    def close(self, timeout: float = 60.0) -> None:
        """Land everything pending, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)

    # -- the writer thread --------------------------------------------------------------
    def _take(self) -> tuple[list[_EventsJob | _CallJob], list[AuditEntry], bool]:
        with self._cond:
            while not self._jobs and not self._audit and not self._stopping:
                self._cond.wait()
            if not self._jobs and self._audit and not self._stopping:
                # audit alone: wait a little to write it in fewer, larger transactions
                self._cond.wait(self.audit_interval)
            jobs: list[_EventsJob | _CallJob] = []
            taken = 0
            while self._jobs:
                job = self._jobs[0]
                size = len(job.events) if isinstance(job, _EventsJob) else 0
                if jobs and taken + size > self.max_batch_events:
                    break
                jobs.append(self._jobs.pop(0))
                taken += size
            self._pending_events -= taken
            audit, self._audit = self._audit, []
            done = self._stopping and not self._jobs and not self._audit
        return jobs, audit, done

    def _run(self) -> None:
        while True:
            jobs, audit, done = self._take()
            try:
                self._step(jobs, audit)
            except Exception:  # never let the one writer die; its requests get an error
                log.exception("writer step failed")
                for job in jobs:
                    _resolve(job.future, error=RuntimeError("the write failed"))
            self.batches += 1
            if done:
                return

    def _step(self, jobs: list[_EventsJob | _CallJob], audit: list[AuditEntry]) -> None:
        for call in (j for j in jobs if isinstance(j, _CallJob)):
            self._transaction(partial(self._do_call, call), [call])
        events = [j for j in jobs if isinstance(j, _EventsJob)]
        if events:
            if self._transaction(partial(self._land, events, audit), events):
                return  # the audit entries were written with the events
            for job in events:  # one bad request must not fail its neighbours
                if not job.future.done():
                    self._transaction(partial(self._land, [job], []), [job])
        if audit:
            self._transaction(partial(self.chain.append, self.con, audit), [])

    def _transaction(self, work: Callable[[], Any], jobs: list[Any]) -> bool:
        try:
            self.con.execute("BEGIN TRANSACTION")
            after = work()
            self.con.execute("COMMIT")
        except Exception as exc:  # a failed batch answers its requests with the error
            if isinstance(exc, ShopmindError):  # the request's fault, answered 4xx: no trace,
                log.info("write refused: %s", type(exc).__name__)  # nor the ids it names
            else:
                log.exception("write failed")
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            self.chain.rollback()
            self.loader.rollback()
            if len(jobs) == 1:
                _resolve(jobs[0].future, error=exc)
            return False
        self.chain.commit_head()
        if callable(after):
            after()
        return True

    def _do_call(self, job: _CallJob) -> Callable[[], None]:
        result = job.work(self.con)
        self.chain.append(self.con, [job.audit])
        return lambda: _resolve(job.future, result)

    def _land(self, jobs: list[_EventsJob], audit: list[AuditEntry]) -> Callable[[], None]:
        batch = [e for job in jobs for e in job.events]
        t0 = time.perf_counter()
        landed = self.loader.land(self.con, batch)
        outcomes = _split(jobs, landed)
        entries = list(audit)
        for job, outcome in zip(jobs, outcomes, strict=True):
            entries.append(
                AuditEntry(
                    job.audit.principal,
                    job.audit.role,
                    job.audit.action,
                    job.audit.target,
                    f"200 accepted={len(outcome.accepted)} duplicates={len(outcome.duplicates)} "
                    f"quarantined={len(outcome.quarantined)}",
                    job.audit.ts,
                )
            )
        self.chain.append(self.con, entries)
        log.debug("landed %d events in %.1f ms", len(batch), 1000 * (time.perf_counter() - t0))

        def answer() -> None:
            self.sessions.add(landed.sessions)
            for listener in self.listeners:
                try:
                    listener(landed)
                except Exception:  # a listener never costs an acknowledgement
                    log.exception("events listener failed")
            for job, outcome in zip(jobs, outcomes, strict=True):
                _resolve(job.future, outcome)

        return answer


def _resolve(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """Answer a request's future unless it was already answered or given up (cancelled)."""
    if future.done():
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:  # cancelled in between by the waiting request
        pass


def _split(jobs: list[_EventsJob], landed: Landed) -> list[EventsOutcome]:
    outcomes, offset = [], 0
    fresh, duplicates = set(landed.fresh), set(landed.duplicates)
    for job in jobs:
        out = EventsOutcome()
        for i in range(len(job.events)):
            g = offset + i
            if g in fresh:
                out.accepted.append(i)
            elif g in duplicates:
                out.duplicates.append(i)
            elif g in landed.quarantined:
                out.quarantined[i] = landed.quarantined[g]
        outcomes.append(out)
        offset += len(job.events)
    return outcomes
