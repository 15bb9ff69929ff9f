"""Admin pages: keys shown once, revocation ends sessions, the audit trail and its check,
data health and the privacy budget."""

from __future__ import annotations

import html
import importlib.util
import re

from tests.serving.web.conftest import Console, audit_until, form_token, sign_in


def test_create_sign_in_and_revoke_a_key(console: Console) -> None:
    admin = console.client("admin")
    token = form_token(admin.get("/admin").text)
    made = admin.post("/admin/keys", data={"csrf": token, "role": "agent", "name": "desk 3"})
    key = re.search(r"<code>(smk_[^<]+)</code>", made.text)
    assert key, made.text[:500]
    again = admin.get("/admin").text
    assert key.group(1) not in again  # shown once
    key_id = key.group(1).split("_")[1]
    assert f'data-key="{key_id}"' in again
    agent = console.client(None)
    assert sign_in(agent, key.group(1)).status_code == 303
    assert agent.get("/", follow_redirects=True).status_code == 200
    revoked = admin.post("/admin/keys/revoke", data={"csrf": token, "key_id": key_id})
    assert revoked.status_code == 303
    assert "1 console session(s) ended" in admin.get("/admin").text
    assert agent.get("/").status_code == 303  # back to sign-in
    trail = audit_until(console, "console+keys", "console keys revoke")
    assert "console keys create" in trail


def test_bad_key_form_is_inline(console: Console) -> None:
    admin = console.client("admin")
    token = form_token(admin.get("/admin").text)
    page = admin.post("/admin/keys", data={"csrf": token, "role": "root", "expires_days": "-1"})
    text = html.unescape(page.text)
    assert page.status_code == 200
    assert "'role' must be one of" in text and "'expires_days' must be" in text
    unknown = admin.post("/admin/keys/revoke", data={"csrf": token, "key_id": "nope"})
    assert "No key with id 'nope'" in html.unescape(unknown.text)


def test_audit_verify_data_health_and_privacy(console: Console) -> None:
    admin = console.client("admin")
    verified = admin.get("/admin/audit?verify=1").text
    assert "The audit trail is intact" in verified
    data = admin.get("/admin/data").text
    assert "events.parquet" in data and 'class="bad"' not in data  # every load balanced
    privacy = admin.get("/admin/privacy").text
    assert 'id="budget-status"' in privacy
    if importlib.util.find_spec("shopmind.store.privacy_budget") is None:
        assert "not configured" in privacy
    else:  # the default budget of a new workspace (migration 9), nothing spent
        assert "Total epsilon" in privacy and "10.000" in privacy and "No release yet" in privacy
