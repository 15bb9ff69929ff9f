"""The report's DP section: budget and the latest releases with epsilon and noise scale."""

from __future__ import annotations

from pathlib import Path

from shopmind.analytics.funnel import FunnelQuery
from shopmind.analytics.private import release_funnel
from shopmind.reports.sections import privacy
from tests.analytics.test_private import build_shop


def test_section_lists_releases_with_epsilon_and_noise_scale(tmp_path: Path) -> None:
    ws = build_shop(tmp_path, users=30)
    ws.init()
    assert privacy.build(ws) is None  # no release yet: the page shows the note
    release_funnel(ws, FunnelQuery(("view", "purchase")), 0.25, principal="cli:analyst")
    body = privacy.build(ws)
    assert body is not None
    assert "epsilon 0.25 spent of 10 (9.75 left) over 1 releases" in body
    assert "<td>funnel</td>" in body and "<td>furthest_step 4</td>" in body
