"""The console in headless Chromium against the real server: sign-in per role, a funnel with
its Plotly chart, the Chinese switch, inline form errors; nothing requested off the machine
(the ``browser_page`` fixture aborts and reports any non-loopback request)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving.web.conftest import Console

pytestmark = pytest.mark.slow


def test_roles_see_only_their_pages(browser_page: Any, console: Console) -> None:
    expected = {
        "admin": {"/", "/explore", "/admin"},
        "analyst": {"/", "/explore"},
        "agent": set(),
    }
    for role, pages in expected.items():
        page = browser_page(role)
        links = set(
            page.eval_on_selector_all("header nav a", "els => els.map(e => e.getAttribute('href'))")
        )
        assert pages <= links, (role, links)
        forbidden = {"/explore", "/admin"} - pages
        assert not forbidden & links, (role, links)
        for path in forbidden:
            response = page.goto(f"{console.base}{path}")
            assert response.status == 403
            assert page.locator(".errors").is_visible()


def test_funnel_chart_chinese_and_bad_input(browser_page: Any, console: Console) -> None:
    page = browser_page("analyst")
    page.goto(f"{console.base}/explore")
    page.fill("#f-steps", "view,cart,purchase")
    page.select_option("#f-by", "category")
    page.click("form[action='/explore'] button[type=submit]")
    page.wait_for_selector("#chart-funnel[data-drawn='1']")
    assert page.locator("#chart-funnel .main-svg").count() >= 1  # Plotly drew an SVG
    assert page.locator("#chart-funnel .modebar").count() == 1  # with its PNG download
    assert page.locator("#chart-funnel_breakdown[data-drawn='1']").count() == 1
    # the overview's charts too, then Chinese
    page.goto(f"{console.base}/")
    page.wait_for_selector("#chart-net_revenue[data-drawn='1']")
    page.click("header a[lang='zh-CN']")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "净收入" in page.locator(".kpis").inner_text()
    # bad input: dates in the wrong order, too few steps -> inline messages, not a 500
    page.goto(f"{console.base}/?lang=en")
    page.fill("#f-start", "2025-01-20")
    page.fill("#f-end", "2025-01-10")
    page.click("form[action='/'] button[type=submit]")
    assert "before the start date" in page.locator(".errors").inner_text()
    page.goto(f"{console.base}/explore")
    page.fill("#f-steps", "view")
    page.click("form[action='/explore'] button[type=submit]")
    assert "at least two steps" in page.locator(".errors").inner_text()


def test_tablet_width_and_keyboard(browser_page: Any, console: Console) -> None:
    page = browser_page("admin", width=768, height=1024)
    for path in ("/", "/explore/retention", "/admin/audit"):
        page.goto(f"{console.base}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 768, (path, overflow)  # no sideways scrolling of the page
    page.goto(f"{console.base}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".filter(e => !(e.id && document.querySelector(`label[for='${e.id}']`))).length"
    )
    assert unlabelled == 0
