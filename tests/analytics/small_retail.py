"""A hand-made Online Retail file whose business figures are worked out by hand
(docs/metrics.md): 5 order lines in 4 orders by 2 customers, gross 58, refunds 20, net 38."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopmind.ingest import ingest_file
from shopmind.store import Workspace
from tests.conftest import options

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
LINES = [
    # week of 2024-01-01 (data starts on Tuesday the 2nd: a partial week)
    "536001,22423,MUG,2,2024-01-02 10:00:00,5.0,1,United Kingdom",
    "536001,POST,POSTAGE,1,2024-01-02 10:00:00,3.0,1,United Kingdom",
    "536002,85123A,LAMP,1,2024-01-03 11:00:00,20.0,2,United Kingdom",
    # week of 2024-01-08: customer 1 returns, customer 2 cancels the lamp
    "536003,22423,MUG,1,2024-01-09 09:00:00,5.0,1,United Kingdom",
    "C536002,85123A,LAMP,-1,2024-01-10 12:00:00,20.0,2,United Kingdom",
    # week of 2024-01-15: an anonymous order; the data ends on Tuesday (partial week)
    "536004,22423,MUG,4,2024-01-16 09:00:00,5.0,,United Kingdom",
]


def small_retail(tmp_path: Path, **ingest: Any) -> Workspace:
    path = tmp_path / "retail.csv"
    path.write_text("\n".join([HEADER, *LINES]) + "\n")
    ws = Workspace(tmp_path / "ws")
    ingest_file(ws, path, options("online_retail", pseudonymize=False, **ingest))
    return ws
