"""Framework pieces without a server: sessions with an idle timeout, catalogues, formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shopmind.serving.web.formats import change, money, pct
from shopmind.serving.web.i18n import Catalogues
from shopmind.serving.web.sessions import SessionStore
from shopmind.serving.web.signin import safe_next


def test_sessions_end_after_the_idle_timeout() -> None:
    now = [0.0]
    store = SessionStore(idle_seconds=1800, clock=lambda: now[0])
    cookie, session = store.create("k1", "analyst", None)
    assert store.get(cookie) is session
    now[0] = 1799.0
    assert store.get(cookie) is session  # activity restarts the idle clock
    now[0] = 1799.0 + 1801.0
    assert store.get(cookie) is None and len(store) == 0
    other, _ = store.create("k2", "admin", None)
    assert store.get(other[:-1] + "x") is None and store.get(None) is None
    assert store.drop_key("k2") == 1 and store.get(other) is None


def test_session_ids_are_random_and_not_stored_in_clear() -> None:
    store = SessionStore(60)
    cookies = {store.create("k", "admin", None)[0] for _ in range(50)}
    assert len(cookies) == 50
    assert not cookies & set(store._sessions)  # only digests are kept


def test_catalogue_parts_merge_and_refuse_duplicates(tmp_path: Path) -> None:
    for lang in ("en", "zh"):
        (tmp_path / f"{lang}.json").write_text(json.dumps({"a": "A {n}"}))
        (tmp_path / f"{lang}.part.json").write_text(json.dumps({"b": "B"}))
    catalogues = Catalogues(tmp_path)
    assert catalogues.translate("zh", "a", n=3) == "A 3"
    assert catalogues.language("zh-CN") == "zh" and catalogues.language("fr") == "en"
    assert catalogues.translate("en", "missing") == "missing"
    assert catalogues.missing == {("en", "missing")}
    (tmp_path / "en.again.json").write_text(json.dumps({"b": "again"}))
    with pytest.raises(ValueError, match="already defined: b"):
        Catalogues(tmp_path)


def test_formats_and_redirect_targets() -> None:
    assert money(1234.5, "GBP") == "1,234.50 GBP" and money(None) == "–"
    assert pct(0.5406) == "54.1%" and change(-0.05) == "-5.0%" and change(None) == "–"
    assert safe_next("/explore?x=1") == "/explore?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", ""):
        assert safe_next(bad) == "/"


def test_every_literal_key_is_in_both_catalogues() -> None:
    web = Path(__file__).parents[3] / "src" / "shopmind" / "serving" / "web"
    pattern = re.compile(r"""\bt\(\s*["']([a-z_][\w.]*)["']\s*[,)]""")
    nav = re.compile(r"""NavItem\(\s*["'][^"']+["']\s*,\s*["']([\w.]+)["']""")
    used: dict[str, set[str]] = {}
    for path in [*web.glob("templates/*.html"), *web.glob("pages/*.py"), *web.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for key in [*pattern.findall(text), *nav.findall(text)]:
            used.setdefault(key, set()).add(path.name)
    assert len(used) > 100
    catalogues = Catalogues()
    for lang, texts in catalogues.texts.items():
        missing = {k: sorted(v) for k, v in used.items() if k not in texts}
        assert not missing, f"keys missing in {lang}: {missing}"
