"""The CI check of the bench harness: seed ~10,000 hazards, assert query counts and plan shapes.

    .venv/bin/python -m bench.smoke [--db safechain_bench_smoke] [--hazards 10000]

Asserts, and exits 1 on any violation: every page answers 200; at most ``MAX_QUERIES`` SQL queries
per page, the same number at page size 5 and 20 (constant in page size); no sequential scan on a
big table in the sweep's claim, the committee ledger's query or any SELECT the pages ran (planned
with ``enable_seqscan = off``, so at this size a seq scan means no index can serve the query); a
sweep with nothing due claims nothing and one with 1,000 due claims them all. Wall-clock times are
printed and written, never asserted (too noisy on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from bench import measure, seed

SIZES = (5, 20)


def violations(report: dict[str, Any], *, due: int) -> list[str]:
    """Every broken rule of the report, as one sentence each."""
    problems: list[str] = []
    for page in report["pages"]:
        name = page["name"]
        if page["status"] != 200:
            problems.append(f"{name}: status {page['status']}")
        counts = page["queries_by_page_size"]
        if len(set(counts.values())) != 1:
            problems.append(f"{name}: query count varies with page size {counts}")
        if page["queries"] > measure.MAX_QUERIES:
            problems.append(f"{name}: {page['queries']} queries > {measure.MAX_QUERIES}")
        if page["seq_scans"]:
            problems.append(f"{name}: Seq Scan on {', '.join(page['seq_scans'])}")
    for name, plan in report["plans"].items():
        if plan["seq_scans"]:
            problems.append(f"plan of {name}: Seq Scan on {', '.join(plan['seq_scans'])}")
    idle, busy = report["sweep"]
    if idle["claimed"] != 0:
        problems.append(f"sweep with nothing due claimed {idle['claimed']}")
    if busy["claimed"] < min(due, busy["due"]) or busy["failed"]:
        problems.append(
            f"sweep with {busy['due']} due claimed {busy['claimed']}, {busy['failed']} failed"
        )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Seed, measure, check; print the summary and every violation; 0 when there is none."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="safechain_bench_smoke")
    parser.add_argument("--hazards", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args(argv)
    seeded = seed.seed(
        db=args.db, hazards=args.hazards, enterprises=5_000, users=1_500, open_share=0.10
    )
    report = measure.run(
        db=args.db, requests=args.requests, due=[0, args.due], sizes=SIZES, no_seqscan=True
    )
    report["seed"] = seeded
    problems = violations(report, due=args.due)
    report["violations"] = problems
    path = measure.write(report, prefix="smoke-")
    print(measure.summary(report))  # noqa: T201
    print(f"\nresults: {path}")  # noqa: T201
    if problems:
        print("\nFAILED:\n- " + "\n- ".join(problems))  # noqa: T201
        return 1
    print("\nsmoke OK: query counts and plan shapes hold")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
