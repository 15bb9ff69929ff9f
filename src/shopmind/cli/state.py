"""Per-invocation CLI state: the settings and the workspace they name."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from shopmind.config import Settings
from shopmind.store import Workspace


@dataclass
class State:
    settings: Settings

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.settings.workspace, key=self.settings.encryption_key())


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
