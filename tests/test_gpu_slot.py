"""The prepared device check of issue 9 (``benchmarks/gpu_slot.sh``) runs its two SASRec
settings end to end and writes the epoch time against the reference: here on the CPU with a
small sequence file, so that a session lent a GPU spends its minutes measuring, not fixing
the script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _slot(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_slot.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_gpu_slot_runs_both_settings_and_reports_the_reference_ratio(tmp_path: Path) -> None:
    data = tmp_path / "Beauty.txt"
    lines = [f"u{u} " + " ".join(f"i{(u * 7 + j * 3) % 40}" for j in range(6)) for u in range(60)]
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    no_wheels = tmp_path / "wheels"  # the device installs carried wheels; this python has all
    no_wheels.mkdir()
    env = {
        **os.environ,
        "OUT": str(out),
        "DEVICE": "cpu",
        "MINUTES": "0.01",
        "PYTHON": sys.executable,
        "DATA": str(data),
        "WHEELS": str(no_wheels),
    }
    done = _slot(env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    default = json.loads((out / "sequential_gpu_default.json").read_text())[0]
    large = json.loads((out / "sequential_gpu_large.json").read_text())[0]
    assert default["config"]["batch_size"] == 128 and default["config"]["precision"] == "fp32"
    assert large["config"]["batch_size"] == 1024 and large["config"]["precision"] == "bf16"
    for result in (default, large):
        assert result["model"] == "sasrec" and result["device"] == "cpu"
        ratio = result["median_epoch_seconds"] / 2.0  # both rounded to 3 places
        assert result["epoch_ratio_to_reference"] == pytest.approx(ratio, abs=1e-3)
        assert 0.0 <= result["test_ndcg@10"] <= 1.0 and result["cases"] == 60
    # the large setting's log holds its own run only (the epoch count varies by machine)
    log = (out / "sequential_gpu_large.log").read_text()
    assert len(re.findall(r"^sasrec epoch 1:", log, re.M)) == 1


def test_gpu_slot_without_data_says_how_to_prepare(tmp_path: Path) -> None:
    env = {**os.environ, "DATA": str(tmp_path / "missing.txt"), "WHEELS": str(tmp_path)}
    done = _slot(env)
    assert done.returncode != 0
    assert "gpu_prepare.sh" in done.stderr
