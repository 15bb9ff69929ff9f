"""Explore over HTTP: funnel, retention, paths, trends and RFM answer with the CLI's numbers;
bad input is an inline message."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from tests.serving.web.conftest import Console


def errors_of(text: str) -> str:
    found = re.search(r"<div class=\"errors\" role=\"alert\">(.*?)</div>", text, re.S)
    return html.unescape(found.group(1)) if found else ""


def figure(text: str, name: str) -> dict:
    found = re.search(rf'<script type="application/json" id="fig-{name}">(.*?)</script>', text)
    assert found, f"no figure {name}"
    return dict(json.loads(found.group(1)))


def test_funnel_equals_the_cli(console: Console) -> None:
    cli = console.cli("analyze", "funnel", "--steps", "view,cart,purchase", "--by", "category")
    page = console.client("analyst").get("/explore?steps=view,cart,purchase&by=category")
    assert page.status_code == 200 and not errors_of(page.text)
    shown = dict(re.findall(r'data-step="(\w+)" data-users="(\d+)"', page.text))
    assert {k: int(v) for k, v in shown.items()} == {s["name"]: s["users"] for s in cli["steps"]}
    assert figure(page.text, "funnel")["data"][0]["x"] == [s["users"] for s in cli["steps"]]
    breakdown = figure(page.text, "funnel_breakdown")["data"]
    assert {t["name"] for t in breakdown} <= set(cli["breakdown"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("steps=view", "at least two steps"),
        ("steps=", "at least two steps"),
        ("steps=view,nosuch", "Unknown funnel step"),
        ("steps=view,cart&window=soon", "is not a duration"),
        ("steps=view,cart&order=sideways", "must be one of"),
    ],
)
def test_funnel_bad_input(console: Console, query: str, message: str) -> None:
    page = console.client("analyst").get(f"/explore?{query}")
    assert page.status_code == 200 and message in errors_of(page.text)


def test_retention_heatmap_leaves_unobservable_cells_blank(console: Console) -> None:
    cli = console.cli("analyze", "retention", "--period", "week")
    page = console.client("analyst").get("/explore/retention?period=week&start=purchase")
    z = figure(page.text, "retention")["data"][0]["z"]
    assert z == [c["rates"][:9] for c in cli["cohorts"]]
    assert any(v is None for row in z for v in row)  # blank, not 0
    assert 'class="num blank"' in page.text


def test_paths_sankey(console: Console) -> None:
    client = console.client("marketer")
    cli = console.cli("analyze", "paths", "--from", "view", "--max-steps", "3", "--top", "10")
    page = client.get("/explore/paths?from=view&max_steps=3&top=10")
    sankey = figure(page.text, "paths")["data"][0]
    assert sankey["type"] == "sankey"
    two_step = sum(p["count"] for p in cli["paths"] if p["path"].count(" > ") >= 1)
    assert (
        sum(
            v
            for s, v in zip(sankey["link"]["source"], sankey["link"]["value"], strict=True)
            if s == 0
        )
        == two_step
    )  # links out of "1. view" carry every path that goes on
    bad = client.get("/explore/paths?from=view&max_steps=99")
    assert "whole number from 1 to 8" in errors_of(bad.text)


def test_trends_equal_the_cli(console: Console) -> None:
    trend = console.cli("analyze", "trends", "--metric", "orders", "--interval", "week")
    answer = console.client("marketer").get("/explore/trends?metric=orders&interval=week&csv=trend")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(float(r["value"])) for r in rows] == [p["value"] for p in trend["points"]]


def test_rfm_equals_the_cli(console: Console) -> None:
    cli = console.cli("analyze", "rfm")
    page = console.client("analyst").get("/explore/customers")
    assert figure(page.text, "rfm")["data"][0]["text"] == [s["name"] for s in cli["segments"]]
    assert f"RFM segments ({cli['customers']:,} customers)" in page.text
    assert "Describe segments" in page.text and "What sets it apart" not in page.text


@pytest.mark.slow
def test_segments_described_in_words(console: Console) -> None:
    segments = console.client("analyst").get("/explore/customers?k=3&segments=1")
    assert segments.text.count(" vs ") >= 3  # "high purchases (3.1 vs 1.66 overall)"
    assert "3 segments" in segments.text
