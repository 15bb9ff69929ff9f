"""The workspace behind the Customers, Campaigns, Recommendations, Service inbox and Risk
review page tests: a small simulated shop (with its randomised campaign and fraud ring),
profiles, a Markov recommender, a workspace risk model with its review queue, the FAQ, one
answered conversation (an agent reply labelled with an intent) and open handoffs.

Built once per test process (``b_workspace``) and copied for each server that changes it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from shopmind.store import Workspace
from tests.conftest import REPO, TEST_KEY

USERS, DAYS, SEED = 400, 40, 5
#: Conversation ids the tests use.
HANDOFF, HANDOFF_2, ANSWERED = "c-handoff-1", "c-handoff-2", "c-answered-1"
EMAIL = "jane.doe@example.com"

_lock = threading.RLock()
_built: dict[str, Path] = {}
_served: dict[str, Any] = {}


def b_workspace(root: Path) -> Path:
    """The prepared workspace (built under ``root`` on the first call of the process)."""
    with _lock:
        if "ws" not in _built:
            _built["ws"] = _build(root / "pages_b" / "ws")
        return _built["ws"]


def copy_of(root: Path, name: str) -> Path:
    """A private copy of the prepared workspace (for a server that writes to it)."""
    target = root / name
    shutil.copytree(b_workspace(root), target)
    return target


def b_console(root: Path) -> Any:
    """A ``shopmind serve`` over a copy of the prepared workspace with a key per role, as the
    conftest's ``Console`` (so ``browser_page`` and ``console.client`` work on it). One per
    test process, shared by the five page test modules; stopped when the process ends.
    Tests that change data use their own items (each its own review or conversation)."""
    from tests.serving.helpers import make_keys, start_server
    from tests.serving.web.conftest import PEOPLE, Console

    with _lock:
        if "console" not in _served:
            ws = b_workspace(root)
            served = root / "pages_b" / "served"
            shutil.copytree(ws, served)
            keys = dict(zip(PEOPLE, make_keys(served, *PEOPLE), strict=True))
            # the key the shop was written with: the service can then open the vault
            os.environ["SHOPMIND_PSEUDONYMIZE_KEY"] = TEST_KEY.decode()
            try:
                server = start_server(served, "--pseudonymize", "on")
            finally:
                del os.environ["SHOPMIND_PSEUDONYMIZE_KEY"]
            atexit.register(server.stop)
            _served["console"] = Console(server, ws, keys)
        return _served["console"]


def buyer(ws: Path, rank: int = 0) -> str:
    """A user with orders, a profile and recommendations (the ``rank``-th by user id)."""
    with Workspace(ws).connect(read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT o.user_id FROM orders o JOIN user_profiles p USING (user_id) "
            "WHERE o.user_id NOT LIKE 'f%' ORDER BY 1 LIMIT 1 OFFSET ?",
            [rank],
        ).fetchall()
    return str(rows[0][0])


def _build(path: Path) -> Path:
    from shopmind.assistant.engine import Assistant, AssistantConfig
    from shopmind.assistant.faq import load_faq
    from shopmind.models.recommend.workflow import train
    from shopmind.risk.workspace import score_workspace, train_workspace
    from shopmind.simulate import SimulationConfig, simulate_shop, write_shop

    ws = Workspace(path)
    write_shop(ws, simulate_shop(SimulationConfig(users=USERS, days=DAYS, seed=SEED)), TEST_KEY)
    _profiles(ws)
    train(ws, "markov")
    train_workspace(ws)
    _, queued = score_workspace(ws, queue=True)
    assert queued > 0
    with Workspace(path).connect() as con:
        load_faq(con, pd.read_csv(REPO / "docs" / "assistant_faq.csv"), "assistant_faq.csv")
    first, second, third = buyer(path, 0), buyer(path, 1), buyer(path, 2)
    with Assistant.open(ws, config=AssistantConfig(faq_embeddings=False)) as assistant:
        assistant.ask(ANSWERED, "How long does delivery take to my city?", first)
        assistant.ask(ANSWERED, "I want to talk to a person please", first)
        assistant.agent_reply(
            ANSWERED, "agent-0", "Delivery takes 2-4 working days.", "human_agent", close=True
        )
        assistant.ask(HANDOFF, f"I want to talk to a person, write to me at {EMAIL}", second)
        assistant.ask(HANDOFF_2, "Can I speak to a human agent?", third)
    return path


def _profiles(ws: Workspace) -> None:
    """The tags of ``shopmind analyze profiles``, in process (behavioural segments left out:
    clustering takes ~10 s even on this small shop)."""
    from shopmind.analytics.profiles import build_profiles
    from shopmind.analytics.store import write_profiles
    from shopmind.features.tables import duckdb_tables

    with duckdb_tables(ws) as tables:
        frame = build_profiles(tables, None)
    frame["segment"] = None
    write_profiles(ws, frame)


def audit_actions(console: Any, action: str, tries: int = 30) -> list[dict[str, Any]]:
    """Audit entries with ``action`` (newest first) from the admin API, waiting for the
    service's writer to land them (it batches audit entries every ~0.2 s)."""
    import time

    import httpx

    entries: list[dict[str, Any]] = []
    for _ in range(tries):
        response = httpx.get(
            f"{console.base}/v1/admin/audit",
            params={"action": action},
            headers={"Authorization": f"Bearer {console.keys['admin']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        entries = list(response.json()["entries"])
        if entries:
            return entries
        time.sleep(0.2)
    return entries
