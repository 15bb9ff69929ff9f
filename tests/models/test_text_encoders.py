"""The packaged sentence encoder loads offline and without progress bars in the output."""

from __future__ import annotations

import subprocess
import sys


def test_minilm_loads_quietly() -> None:
    code = (
        "from shopmind.models.text_encoders import minilm\n"
        "v = minilm().encode(['where is my parcel'], normalize_embeddings=True)\n"
        "print(v.shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 384)"
    assert "Loading weights" not in done.stderr and "%|" not in done.stderr
