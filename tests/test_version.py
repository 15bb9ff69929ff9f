"""One version: pyproject.toml, ``shopmind.__version__`` and the newest CHANGELOG entry agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import shopmind

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_same_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    newest = re.search(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest is not None, "CHANGELOG.md needs a '## X.Y.Z - title' entry"
    assert project == shopmind.__version__ == newest.group(1)
