"""``shopmind ingest`` starts with only its own command module imported (start-up time is part
of the ingest's wall time); every other command line gets the full app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shopmind.cli.app import _command_of, build_app


@pytest.mark.parametrize(
    "argv, command",
    [
        (["ingest", "f.csv"], "ingest"),
        (["-w", "ws", "ingest", "f.csv", "--json"], "ingest"),
        (["--workspace", "ingest", "info"], "info"),  # "ingest" is the workspace here
        (["--version"], None),
        ([], None),
    ],
)
def test_command_of(argv: list[str], command: str | None) -> None:
    assert _command_of(argv) == command


def test_the_light_app_has_the_ingest_command_only() -> None:
    app = build_app(["ingest"])
    assert [c.name for c in app.registered_commands] == ["ingest"]


def test_ingest_start_up_imports_no_model_stack() -> None:
    code = (
        "import sys; sys.argv = ['shopmind', 'ingest', '--help']\n"
        "from shopmind.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'ibis', 'sklearn', 'torch') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stdout, done.stdout[-500:]
