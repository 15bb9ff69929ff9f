"""A ``shopmind serve`` subprocess on a free loopback port with keys per role, for the
console's screenshot script and benchmark (``scripts/screenshots.py``,
``benchmarks/console.py``). The workspace must not be held by another process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shopmind.security import create_key
from shopmind.store import Workspace
from shopmind.testing.server import ServerDidNotStart, launch

PEOPLE = ("admin", "analyst", "marketer", "agent", "risk_analyst")


def simulate(ws: Path, users: int, days: int, seed: int = 0) -> None:
    """``shopmind simulate`` into ``ws`` (skipped when it already holds a workspace)."""
    if Workspace(ws).exists():
        return
    subprocess.run(
        [sys.executable, "-m", "shopmind", "--workspace", str(ws), "simulate", "--users",
         str(users), "--days", str(days), "--seed", str(seed)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={"SHOPMIND_PROFILE": "dev", **os.environ},
    )  # fmt: skip


#: Views reached through a form (not linked from the navigation), as a user would submit it.
EXTRA = (
    "/explore?steps=view,cart,purchase&window=1d&order=ordered&by=category",
    "/campaigns/analysis?campaign=email_campaign_1",
    "/risk?status=all",
)


def extra_pages(ws: Path) -> list[str]:
    """``EXTRA`` plus pages about one customer, item and hand-over of this shop: the most
    frequent buyer, the most bought item, the first handed-over conversation (if any)."""
    from urllib.parse import urlencode

    from shopmind.store import Workspace

    with Workspace(ws).connect(read_only=True) as con:
        buyer, item = con.execute(
            "SELECT (SELECT user_id FROM events WHERE event_type = 'purchase' AND user_id IS "
            "NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1), (SELECT item_id FROM "
            "events WHERE event_type = 'purchase' AND item_id IS NOT NULL GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1)"
        ).fetchone() or (None, None)
        handoff = con.execute(
            "SELECT conversation_id FROM conversations WHERE handoff ORDER BY 1 LIMIT 1"
        ).fetchall()
    found = list(EXTRA)
    if buyer is not None:
        found += [
            "/customers?" + urlencode({"user": buyer}),
            "/recommendations?" + urlencode({"user": buyer, "item": item or ""}),
        ]
    if handoff:
        found.append("/inbox?" + urlencode({"c": handoff[0][0]}))
    return found


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    base: str
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, role: str) -> httpx.Client:
        """An httpx client signed in to the console as ``role``."""
        client = httpx.Client(base_url=self.base, timeout=120)
        login = client.get("/login").text
        token = re.search(r'name="login_token" value="([^"]+)"', login)
        assert token, "no sign-in form"
        answer = client.post(
            "/login", data={"login_token": token.group(1), "key": self.keys[role], "next": "/"}
        )
        assert answer.status_code in (200, 303), answer.text[:300]
        return client

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def start(ws: Path, log: Path) -> Running:
    """Keys for every person's role, then ``shopmind serve`` until ``/health`` answers."""
    with Workspace(ws).connect() as con:
        keys = {role: create_key(con, role, name=f"console-{role}").key for role in PEOPLE}
    try:
        proc, base = launch(ws, "--rate-limit", "0", log=log, timeout_s=300)
    except ServerDidNotStart as error:
        raise SystemExit(str(error)) from None
    return Running(proc, base, keys)
