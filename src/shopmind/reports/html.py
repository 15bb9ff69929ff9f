"""``shopmind report``: one self-contained HTML page a marketing manager can read.

The page is assembled from :mod:`shopmind.reports.sections`, one module per section. A
section that does not apply shows its one-line note (a log without a campaign has no uplift);
one that fails says so instead of sinking the page. Charts are inline SVG.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from shopmind.features.tables import Tables, duckdb_tables
from shopmind.reports.fragments import note, section
from shopmind.reports.sections import (
    assistant,
    clv,
    funnel,
    items,
    overview,
    privacy,
    propensity,
    recommendations,
    retention,
    rfm,
    risk,
    segments,
    trends,
    uplift,
)
from shopmind.store import Workspace
from shopmind.store.encryption import write_file
from shopmind.store.workspace import synthetic_time_format

STYLE = """
body{font-family:"Segoe UI",Helvetica,Arial,"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;
max-width:1000px;margin:2em auto;color:#111;line-height:1.45}
h1{margin-bottom:0} section{margin:2em 0;border-top:1px solid #ddd;padding-top:1em}
.lead{font-size:1.1em} table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border-bottom:1px solid #eee;padding:.25em .6em;text-align:left} figure{margin:.5em 0}
.note{color:#777} svg{max-width:100%;height:auto}
"""


def _sections(
    tables: Tables, workspace: Workspace
) -> list[tuple[ModuleType, Callable[[], str | None]]]:
    """The page's sections in order, each with what its ``build`` reads."""
    return [
        (funnel, lambda: funnel.build(tables)),
        (retention, lambda: retention.build(tables)),
        (trends, lambda: trends.build(tables)),
        (rfm, lambda: rfm.build(tables)),
        (clv, lambda: clv.build(workspace)),
        (segments, lambda: segments.build(tables)),
        (propensity, lambda: propensity.build(workspace)),
        (uplift, lambda: uplift.build(tables, workspace)),
        (items, lambda: items.build(tables)),
        (recommendations, lambda: recommendations.build(workspace)),
        (risk, lambda: risk.build(workspace)),
        (assistant, lambda: assistant.build(workspace)),
        (privacy, lambda: privacy.build(workspace)),
    ]


def render(module: ModuleType, builder: Callable[[], str | None]) -> str:
    """One section: its fragment, its note when it does not apply, or why it failed."""
    try:
        body = builder()
    except Exception as exc:  # one missing analysis must not sink the report
        body = f"<p class='note'>Not available: {html.escape(str(exc))}</p>"
    if body is None:
        body = note(module.NOTE)
    return section(module.TITLE, body, module.ANCHOR)


def build_report(workspace: Workspace) -> str:
    """The report as one HTML string."""
    from shopmind.analytics.metrics import timezone_note

    with duckdb_tables(workspace) as tables:
        parts = [section(overview.TITLE, overview.build(tables), overview.ANCHOR)]
        parts += [render(module, builder) for module, builder in _sections(tables, workspace)]
        zone = tables.timezone
        synthetic = synthetic_time_format(tables.backend.con)  # the report's own connection
    # days, weeks and months are the reporting zone's (SHOPMIND_TIMEZONE): said once, with a
    # warning when the events were loaded as another zone's times
    other = timezone_note(workspace, zone)
    days = f"days in {html.escape(zone)}" + (f" ({html.escape(other)})" if other else "")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if synthetic:  # Amazon Beauty, Diginetica: the order of events is all a file gave
        days += (
            f". The events come from a '{html.escape(synthetic)}' file without timestamps: "
            "their dates (from 2000-01-01) are synthetic and keep the order only, so dates, "
            "recency, retention and trends below do not describe real time"
        )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>shopmind report</title><style>{STYLE}</style></head><body>"
        f"<h1>shopmind report</h1><p class='note'>{html.escape(str(workspace.root))} · "
        f"generated {generated} · {days}</p>{''.join(parts)}</body></html>"
    )


def write_report(workspace: Workspace, out: Path | None = None) -> Path:
    path = out or workspace.reports_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    # sealed (AES-GCM) when the path lies in an encrypted workspace; `--out` elsewhere: plain
    return write_file(path, build_report(workspace).encode("utf-8"))
