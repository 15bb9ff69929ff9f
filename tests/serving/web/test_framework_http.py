"""The console's framework over HTTP: sign-in, cookies, roles, CSRF, errors, i18n."""

from __future__ import annotations

import json
import re

from shopmind.serving.web.i18n import FOLDER, LANGUAGES, load_catalogue
from tests.serving.web.conftest import PEOPLE, Console, audit_until, form_token, sign_in


def test_catalogues_have_the_same_keys() -> None:
    keys = {lang: set(load_catalogue(lang)) for lang in LANGUAGES}
    assert keys["en"] == keys["zh"], keys["en"] ^ keys["zh"]
    assert len(keys["en"]) > 50
    for path in FOLDER.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # every part is valid JSON


def test_unauthenticated_pages_redirect_to_login(console: Console) -> None:
    client = console.client(None)
    response = client.get("/explore?steps=view")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fexplore%3Fsteps%3Dview"


def test_sign_in_sets_a_strict_httponly_cookie_and_audits_it(console: Console) -> None:
    client = console.client(None)
    response = sign_in(client, console.keys["analyst"], "/explore")
    assert response.status_code == 303 and response.headers["location"] == "/explore"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("shopmind_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert len(cookie.split(";")[0].split("=", 1)[1]) >= 40  # 32 random bytes
    key_id = console.keys["analyst"].split("_")[1]
    audit_until(console, "console+sign-in", f"key:{key_id}")


def test_bad_and_service_keys_cannot_sign_in(console: Console) -> None:
    client = console.client(None)
    wrong = sign_in(client, "sm_nope_" + "x" * 30)
    assert wrong.status_code == 401 and "unknown, expired or revoked" in wrong.text
    service = sign_in(client, console.keys["service"])
    assert service.status_code == 401 and "Service keys" in service.text
    assert client.get("/").status_code == 303  # still not signed in
    service_id = console.keys["service"].split("_")[1]
    trail = audit_until(console, "console+sign-in", f"refused:{service_id}")
    assert "anonymous" in trail


def test_login_refuses_a_form_without_its_token(console: Console) -> None:
    client = console.client(None)
    response = client.post("/login", data={"login_token": "x", "key": console.keys["admin"]})
    assert response.status_code == 400 and "shopmind_session" not in response.headers.get(
        "set-cookie", ""
    )


def test_next_never_leaves_the_site(console: Console) -> None:
    client = console.client(None)
    response = sign_in(client, console.keys["admin"], "//evil.example/x")
    assert response.headers["location"] == "/"


def test_each_role_sees_only_its_pages(console: Console) -> None:
    for role in PEOPLE:
        client = console.client(role)
        page = client.get("/", follow_redirects=True)
        assert page.status_code == 200, (role, page.text[:300])
        nav = re.findall(r'<li><a href="([^"]+)"', page.text)
        explore = client.get("/explore")
        admin = client.get("/admin")
        if role in ("admin", "analyst", "marketer"):
            assert "/explore" in nav and explore.status_code == 200
        else:
            assert "/explore" not in nav and explore.status_code == 403
            assert "may not see this page" in explore.text
        if role == "admin":
            assert "/admin" in nav and admin.status_code == 200
        else:
            assert "/admin" not in nav and admin.status_code == 403


def test_post_without_csrf_token_is_refused(console: Console) -> None:
    client = console.client("admin")
    refused = client.post("/admin/keys", data={"role": "analyst"})
    assert refused.status_code == 403 and "form expired" in refused.text
    token = form_token(client.get("/admin").text)
    made = client.post("/admin/keys", data={"role": "analyst", "csrf": token})
    assert made.status_code == 200 and re.search(r"<code>smk_[^<]+</code>", made.text)


def test_logout_ends_the_session(console: Console) -> None:
    client = console.client("analyst")
    token = form_token(client.get("/explore").text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert client.get("/explore").status_code == 303


def test_chinese_switch_is_remembered(console: Console) -> None:
    client = console.client("analyst")
    page = client.get("/?lang=zh")
    assert '<html lang="zh-CN">' in page.text and "净收入" in page.text
    assert "shopmind_lang=zh" in page.headers["set-cookie"]
    again = client.get("/explore")
    assert "漏斗" in again.text


def test_unknown_page_and_bad_query_are_pages_not_json(console: Console) -> None:
    client = console.client("admin")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    api = client.get("/v1/no-such-route")
    assert api.headers["content-type"].startswith("application/json")


def test_pages_send_security_headers(console: Console) -> None:
    page = console.client("admin").get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"


def test_plotly_is_served_from_the_installed_package(console: Console) -> None:
    client = console.client(None)
    script = client.get("/static/plotly.min.js")
    assert script.status_code == 200 and len(script.content) > 1_000_000
    assert client.get("/static/console.css").status_code == 200
