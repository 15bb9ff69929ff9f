"""The shared form macros render their attributes as attributes (not escaped text)."""

from __future__ import annotations

import jinja2

from shopmind.serving.web.framework import TEMPLATES


def test_field_attributes_are_attributes_and_values_are_escaped() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    macros = env.get_template("macros.html").module
    html = str(macros.field("cost", "Cost", '"><script>', type="number", attrs={"step": "any"}))
    assert 'step="any"' in html
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html
