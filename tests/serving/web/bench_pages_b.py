"""Server time of the Customers, Campaigns, Recommendations, Inbox and Risk review views with a
customer / item chosen (what ``benchmarks/console.py`` does not reach from the header links).

    python tests/serving/web/bench_pages_b.py WORKSPACE [--repeat 10] [--settle 20]

WORKSPACE: a prepared shop, e.g. ``shopmind simulate --users 10000`` then ``recommend train
--model markov``, ``analyze profiles``, ``risk train``, ``risk score --queue --out r.csv``,
``propensity train``. Starts ``shopmind serve`` on it, opens ``/customers`` once (which starts
the background scoring of every user by the CLV and propensity models), waits ``--settle``
seconds, then reports per view the first request (cold) and the median and max of
``--repeat`` more. Prints JSON lines. (Kept beside the tests until it moves to benchmarks/.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parents[3]))

from tests.serving.helpers import make_keys, start_server
from tests.serving.web.conftest import PEOPLE, Console, form_token


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args(argv)
    db = duckdb.connect(str(args.workspace / "shopmind.duckdb"), read_only=True)
    user = db.execute(
        "SELECT o.user_id FROM orders o JOIN user_profiles USING (user_id) ORDER BY 1 "
        "LIMIT 1 OFFSET 100"
    ).fetchone()[0]
    item = db.execute("SELECT item_id FROM items ORDER BY 1 LIMIT 1").fetchone()[0]
    db.close()
    keys = dict(zip(PEOPLE, make_keys(args.workspace, *PEOPLE), strict=True))
    server = start_server(args.workspace)
    try:
        client = Console(server, args.workspace, keys).client("admin")
        client.get("/customers")
        time.sleep(args.settle)
        paths = [
            f"/customers?user={user}",
            f"/customers?q={user[:-2]}",
            f"/recommendations?user={user}&item={item}",
            "/campaigns",
            "/campaigns/analysis?campaign=email_campaign_1",
            "/risk?status=all",
            "/risk/rings",
            "/inbox",
        ]
        for path in paths:
            started = time.perf_counter()
            status = client.get(path).status_code
            cold = time.perf_counter() - started
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - started)
            view = path.split("=")[0]
            print(
                json.dumps(
                    {
                        "view": view,
                        "status": status,
                        "cold_s": round(cold, 3),
                        "median_s": round(statistics.median(times), 3),
                        "max_s": round(max(times), 3),
                    }
                ),
                flush=True,
            )
        token = form_token(client.get("/campaigns").text)
        started = time.perf_counter()
        status = client.post(
            "/campaigns/plan", data={"csrf": token, "budget": "1000", "cost": "1", "value": "50"}
        ).status_code
        print(
            json.dumps(
                {
                    "view": "POST /campaigns/plan",
                    "status": status,
                    "seconds": round(time.perf_counter() - started, 2),
                }
            ),
            flush=True,
        )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
