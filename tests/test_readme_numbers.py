"""README's measured numbers equal the results files the benchmarks wrote
(``benchmarks/readme_numbers.py``): a rerun that moves a number, or a README edit that
does not follow one, fails here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location(
        "readme_numbers", ROOT / "benchmarks" / "readme_numbers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_readme_claim_matches_its_results_file() -> None:
    rows = _script().check((ROOT / "README.md").read_text())
    bad = [f"{r['anchor']}: {r.get('problem')}" for r in rows if not r["ok"]]
    assert not bad, "\n".join(bad)
    assert len(rows) >= 30


def test_a_moved_number_is_reported(tmp_path: Path) -> None:
    script = _script()
    results = tmp_path / "results"
    results.mkdir()
    for claim in script.CLAIMS:
        source = ROOT / "benchmarks" / "results" / claim.results
        (results / claim.results).write_text(source.read_text())
    cli = json.loads((results / "recsys_cli_diginetica.json").read_text())
    cli["p@20"] += 0.5  # a rerun that moved the headline number
    (results / "recsys_cli_diginetica.json").write_text(json.dumps(cli))
    rows = script.check((ROOT / "README.md").read_text(), results)
    bad = [r for r in rows if not r["ok"]]
    assert [r["results"] for r in bad] == ["recsys_cli_diginetica.json"]
    assert "P@20" in bad[0]["problem"]
    # and every claim's benchmark can be rerun by name
    files = {f for _, written in script.BENCHMARKS.values() for f in written}
    assert {c.results for c in script.CLAIMS} <= files
