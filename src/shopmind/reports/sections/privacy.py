"""Differentially private releases: the workspace's privacy budget and the latest releases
with their epsilon and noise scale, from the ledger ``shopmind dp release`` writes."""

from __future__ import annotations

from shopmind.reports.fragments import note, table
from shopmind.store import Workspace
from shopmind.store.privacy_budget import read_status

TITLE = "Differentially private releases"
ANCHOR = "dp-releases"
NOTE = (
    "No differentially private release yet: try <code>shopmind dp release segments "
    "--epsilon 1</code> (docs/privacy.md)."
)
LATEST = 10


def build(workspace: Workspace) -> str | None:
    with workspace.connect(read_only=True) as con:
        state = read_status(con, limit=LATEST)
    if state is None or not state["releases"]:
        return _first_release_hint(workspace)
    lead = (
        f"<p class='lead'>Privacy budget: epsilon {state['epsilon_spent']:g} spent of "
        f"{state['epsilon_total']:g} ({state['epsilon_remaining']:g} left) over "
        f"{state['releases']:,} releases. Each release adds Laplace noise of the scale shown "
        "(standard deviation = 1.41 &times; scale); one user is the privacy unit.</p>"
    )
    rows = [
        [
            e["ts"].strftime("%Y-%m-%d %H:%M"),
            e["kind"],
            e["query"],
            f"{e['epsilon']:g}",
            ", ".join(f"{k} {v:g}" for k, v in e["noise_scale"].items()),
            e["mechanism"],
        ]
        for e in state["ledger"]
    ]
    return lead + table(
        ["time (UTC)", "kind", "query", "epsilon", "noise scale", "mechanism"], rows
    )


def _first_release_hint(workspace: Workspace) -> str | None:
    """None (the NOTE: segments) when RFM segments apply, else a release this data allows."""
    from shopmind.analytics.applicability import why_not

    reason = why_not(workspace, "rfm")
    if reason is None:
        return None
    with workspace.connect(read_only=True) as con:
        types = {r[0] for r in con.execute("SELECT DISTINCT event_type FROM events").fetchall()}
    if not types:
        return note("No differentially private release: the workspace holds no events.")
    kind = "view" if "view" in types else sorted(types)[0]
    return note(
        f"No differentially private release yet; segments do not apply ({reason}): try "
        f"<code>shopmind dp release retention --start {kind} --return {kind} --epsilon 1</code> "
        "(docs/privacy.md)."
    )
