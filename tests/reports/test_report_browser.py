"""The HTML report renders in a real headless Chromium with every chart drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shopmind.store import Workspace
from tests.conftest import run_cli

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CHARTS = {
    "funnel",
    "retention",
    "trends",
    "rfm",
    "clv",
    "segments",
    "calibration",
    "qini",
    "risk_scores",
    "oos_tradeoff",
}


@pytest.mark.slow
def test_report_charts_are_drawn_and_chinese_renders(sim_ws: Workspace, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (make test installs Debian's chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    ws = tmp_path / "ws"
    shutil.copytree(sim_ws.root, ws)
    assert run_cli("--workspace", str(ws), "clv", "fit", "--json").returncode == 0
    trained = run_cli(
        "--workspace",
        str(ws),
        "propensity",
        "train",
        "--horizon",
        "7d",
        "--cutoff",
        "2025-02-20T00:00:00+00:00",
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    for stage in (
        ["risk", "train", "--json"],
        ["assistant", "train", "--encoder", "none", "--oos-label", "other", "--json"],
    ):
        done = run_cli("--workspace", str(ws), *stage)
        assert done.returncode == 0, done.stderr
    out = tmp_path / "report.html"
    result = run_cli("--workspace", str(ws), "report", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "Not available" not in text
    assert "<script" not in text  # self-contained, no external resources
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(out.as_uri())
        charts = page.evaluate(
            """() => [...document.querySelectorAll('figure.chart')].map(f => ({
                name: f.dataset.chart,
                width: f.querySelector('svg').getBoundingClientRect().width,
                height: f.querySelector('svg').getBoundingClientRect().height,
                shapes: f.querySelectorAll('path, rect, use').length}))"""
        )
        chinese = page.evaluate(
            "() => (document.querySelector('#items').innerText.match(/[\\u4e00-\\u9fff]/g)"
            " || []).length"
        )
        png = page.locator("#items").screenshot()
        browser.close()
    drawn = {c["name"] for c in charts if c["width"] > 200 and c["height"] > 80 and c["shapes"] > 5}
    assert drawn == CHARTS, charts
    assert chinese > 0
    assert len(png) > 5_000
