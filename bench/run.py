"""The whole benchmark (``make bench``): seed, pages and sweep, HTTP load, deliveries, targets.

    .venv/bin/python -m bench.run [--db safechain_bench] [--hazards 1000000] [--skip-seed]
                                  [--lifecycles 1000] [--clients 8] [--delivery-rows 10000]

Runs ``bench.seed`` (unless ``--skip-seed``), ``bench.measure`` (pages in-process, plans),
``bench.load`` (gunicorn with 2 workers: full lifecycles through the API, 8 concurrent page users,
worker RSS), the sweep of ``bench.measure`` (0 / 1,000 / 100,000 due) and ``bench.delivery`` (one Celery worker against a mock
SMS gateway: deliveries/s and its RSS), then writes ``bench/results/bench-<timestamp>.json`` and
prints every table and the targets of issue 7 with "met" or "missed".
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Sequence
from typing import Any

from bench import delivery, load, measure, seed


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    seed.add_size_arguments(parser)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--due", default="0,1000,100000")
    parser.add_argument("--lifecycles", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--answers", default=",".join(load.ANSWERS))
    parser.add_argument("--page-users", type=int, default=8)
    parser.add_argument("--page-requests", type=int, default=800)
    parser.add_argument("--delivery-rows", type=int, default=10_000)
    parser.add_argument("--delivery-chunks", default="1,50")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report: dict[str, Any] = {}
    if not args.skip_seed:
        report["seed"] = seed.seed(
            db=args.db,
            hazards=args.hazards,
            enterprises=args.enterprises,
            users=args.users,
            open_share=0.10,
        )
    # Pages in-process, then over HTTP, on the same data; the sweep last of the three, because
    # making 100,000 clocks due (and firing them) changes what the overdue filters find.
    report.update(
        measure.run(db=args.db, requests=args.requests, due=[], sizes=[5, 20], no_seqscan=False)
    )
    report["load"] = load.run(
        db=args.db,
        clients=args.clients,
        lifecycles=args.lifecycles,
        page_users=args.page_users,
        page_requests=args.page_requests,
        answers=load.answer_list(args.answers),
    )
    report["sweep"] = measure.measure_sweep([int(x) for x in args.due.split(",") if x])
    report["delivery"] = delivery.in_subprocess(
        db=args.db,
        rows=args.delivery_rows,
        chunks=[int(c) for c in args.delivery_chunks.split(",")],
    )
    report["machine_detail"] = platform.platform()
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    path = measure.write(report, prefix="bench-")
    print(measure.summary(report))  # noqa: T201
    print("\n" + load.summary(report["load"]))  # noqa: T201
    print("\n" + delivery.summary(report["delivery"]))  # noqa: T201
    print("\n### Targets\n\n" + measure.targets_table(report))  # noqa: T201
    print(f"\nresults: {path} ({report['total_seconds']} s)")  # noqa: T201
    return report


if __name__ == "__main__":
    main()
