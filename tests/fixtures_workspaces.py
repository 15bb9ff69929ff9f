"""Workspaces shared by the analytics, report and CLI tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind.ingest import ingest_file
from shopmind.simulate import SimulationConfig, simulate_shop, write_shop
from shopmind.store import Workspace
from tests.conftest import TEST_KEY, data_file, options


def _real(tmp: Path, relative: str, fmt: str) -> Workspace:
    ws = Workspace(tmp / fmt)
    ingest_file(ws, data_file(relative), options(fmt, pseudonymize=False))
    return ws


@pytest.fixture(scope="session")
def taobao_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return _real(
        tmp_path_factory.mktemp("tb"),
        "taobao_userbehavior/UserBehavior_head.csv",
        "taobao_userbehavior",
    )


@pytest.fixture(scope="session")
def retail_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return _real(
        tmp_path_factory.mktemp("or"), "online_retail/online_retail.parquet", "online_retail"
    )


@pytest.fixture(scope="session")
def sim_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("sim") / "ws")
    write_shop(ws, simulate_shop(SimulationConfig(users=1500, days=60, seed=21)), key=TEST_KEY)
    return ws
