"""Run one ``make demo`` step when it applies to the workspace's data.

    python scripts/demo_step.py WORKSPACE STEP [--campaign ID] -- COMMAND ...

When the step applies, COMMAND runs and its exit status is this script's (a real error stops
``make``). When it does not, one line says why and the script exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shopmind.analytics.applicability import STEPS, why_not
from shopmind.store import Workspace


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: demo_step.py WORKSPACE STEP [--campaign ID] -- COMMAND ...", file=sys.stderr)
        return 2
    cut = argv.index("--")
    parser = argparse.ArgumentParser(prog="demo_step.py")
    parser.add_argument("workspace", type=Path)
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--campaign")
    args = parser.parse_args(argv[:cut])
    command = argv[cut + 1 :]
    reason = why_not(Workspace(args.workspace), args.step, args.campaign, _horizon(command))
    if reason is not None:
        print(f"skipped {args.step}: {reason}", flush=True)
        return 0
    print("+", " ".join(command), flush=True)
    os.execvp(command[0], command)
    return 0  # not reached


def _horizon(command: list[str]) -> float | None:
    """The ``--horizon`` of a propensity command in days (``7d``, ``12h``, ``2w``), else None."""
    import itertools
    import re

    for flag, value in itertools.pairwise(command):
        if flag == "--horizon" and (m := re.fullmatch(r"(\d+(?:\.\d+)?)([hdw])", value)):
            return float(m.group(1)) * {"h": 1 / 24, "d": 1.0, "w": 7.0}[m.group(2)]
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
