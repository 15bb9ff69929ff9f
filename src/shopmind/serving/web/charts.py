"""Plotly charts as plain figure dicts (``{"data": [...], "layout": {...}}``) with their data.

The page embeds the figure as JSON; ``static/console.js`` draws it with the installed
``plotly.min.js`` (hover, zoom, the mode bar's PNG download). The same rows are offered as
CSV at the page's own URL plus ``?csv=<chart name>`` (see :func:`csv_response`), and shown as
a table for readers without JavaScript.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

#: Colours with at least 3:1 contrast on white (WCAG 1.4.11 for graphics).
PALETTE = (
    "#1f5fa8",
    "#c2410c",
    "#15803d",
    "#7e22ce",
    "#b91c1c",
    "#0e7490",
    "#a16207",
    "#4b5563",
)


@dataclass
class Chart:
    """One chart: a unique ``name`` on its page (the CSV link uses it), a figure and its rows."""

    name: str
    title: str
    figure: dict[str, Any]
    rows: Sequence[Mapping[str, Any]] = field(default_factory=list)
    columns: Sequence[str] | None = None

    def header(self) -> list[str]:
        if self.columns is not None:
            return list(self.columns)
        return list(self.rows[0]) if self.rows else []

    def figure_json(self) -> str:
        """The figure as JSON safe inside ``<script type="application/json">``."""
        layout = {
            "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
            "font": {"family": "system-ui, sans-serif", "size": 13},
            "colorway": list(PALETTE),
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            **self.figure.get("layout", {}),
        }
        text = json.dumps({"data": self.figure["data"], "layout": layout}, default=str)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    def csv_text(self) -> str:
        out = io.StringIO()
        header = self.header()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
        return out.getvalue()


def csv_response(chart: Chart) -> Response:
    """The chart's rows as a CSV download named after the chart."""
    return Response(
        chart.csv_text(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{chart.name}.csv"'},
    )


def bar(
    name: str,
    title: str,
    x: Sequence[Any],
    series: Mapping[str, Sequence[Any]],
    rows: Sequence[Mapping[str, Any]],
    *,
    y_title: str = "",
) -> Chart:
    """Grouped bars: one trace per entry of ``series``."""
    data = [
        {"type": "bar", "name": label, "x": list(x), "y": list(y)} for label, y in series.items()
    ]
    layout = {
        "barmode": "group",
        "yaxis": {"title": {"text": y_title}},
        "showlegend": len(data) > 1,
    }
    return Chart(name, title, {"data": data, "layout": layout}, rows)


def line(
    name: str,
    title: str,
    x: Sequence[Any],
    series: Mapping[str, Sequence[Any]],
    rows: Sequence[Mapping[str, Any]],
    *,
    y_title: str = "",
) -> Chart:
    """Lines with markers: one trace per entry of ``series`` (None values leave gaps)."""
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": label, "x": list(x), "y": list(y)}
        for label, y in series.items()
    ]
    layout = {"yaxis": {"title": {"text": y_title}}, "showlegend": len(data) > 1}
    return Chart(name, title, {"data": data, "layout": layout}, rows)
