"""Measure a seeded bench database: pages at scale, SQL per page, query plans, the sweep.

    .venv/bin/python -m bench.measure [--db safechain_bench] [--requests 30] [--due 0,1000,100000]

Pages are requested through Django's test ``Client`` in this process (``force_login``), so "server
time" is the view from URL resolution to the rendered response, without a network or a WSGI server.
Every SELECT a page ran is EXPLAINed (``FORMAT JSON``) and its plan's node types are kept; a
``Seq Scan`` on one of ``BIG_TABLES`` is flagged. The sweep is timed after the pages (it writes):
first with nothing due, then with each ``--due`` count of clocks made due in one UPDATE.
Writes ``bench/results/<timestamp>.json`` and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from bench import setup_django

RESULTS = Path(__file__).resolve().parent / "results"
BIG_TABLES = (
    "hazards_hazard",
    "hazards_hazard_departments",
    "deadlines_deadline",
    "viewflow_task",
    "viewflow_process",
)
MAX_QUERIES = 12


@dataclass
class PageResult:
    """One page for one persona: timings (ms), queries, and the plans of its SELECTs."""

    name: str
    url: str
    user: str
    status: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    queries: int = 0
    queries_by_page_size: dict[str, int] = field(default_factory=dict)
    seq_scans: list[str] = field(default_factory=list)
    node_types: list[str] = field(default_factory=list)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- plans ---------------------------------------------------------------------------------------


def _walk(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _walk(child)


def explain(sql: str, params: Sequence[Any] | None = None, *, no_seqscan: bool) -> dict[str, Any]:
    """The JSON plan of ``sql`` with its node types and the big tables it reads sequentially.

    ``no_seqscan`` plans with ``enable_seqscan = off``: on a small database the planner rightly
    prefers a sequential scan, but it still picks one with the setting off only when no index can
    serve the query — which is what a CI check at 10,000 rows can assert.
    """
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if no_seqscan:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params or None)
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    nodes = list(_walk(plan))
    return {
        "node_types": sorted({n["Node Type"] for n in nodes}),
        "seq_scans": sorted(
            {
                n.get("Relation Name", "")
                for n in nodes
                if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in BIG_TABLES
            }
        ),
        "total_cost": plan.get("Total Cost"),
    }


# --- personas and pages --------------------------------------------------------------------------


def personas() -> dict[str, Any]:
    """The busiest department's staff member, the user with the fullest inbox, the city committee
    office's member and the principal of the enterprise with most hazards."""
    from django.db import connection
    from django.db.models import Count

    from accounts.models import Membership, User
    from workflows.hazards.models import Hazard

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT owner_permission FROM viewflow_task WHERE status = 'NEW' "
            "AND owner_permission LIKE 'hazards.dept_%%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        dept = int(cursor.fetchone()[0].removeprefix("hazards.dept_"))
        cursor.execute(
            "SELECT owner_id FROM viewflow_task WHERE status = 'ASSIGNED' AND owner_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        inbox_user = cursor.fetchone()[0]
    staff = Membership.objects.filter(department_id=dept, role="staff").order_by("pk").first()
    committee = Membership.objects.filter(
        role="committee",
        department__kind__code="committee_office",
        department__region__level="city",
    ).first()
    top = (
        Hazard.objects.filter(enterprise__principal__isnull=False)
        .values("enterprise_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    principal = Membership.objects.filter(
        enterprise_id=top["enterprise_id"], role="principal"
    ).first()
    if staff is None or committee is None or principal is None:
        raise SystemExit("the bench database lacks a persona: was it seeded by bench.seed?")
    return {
        "staff": staff.user,
        "inbox": User.objects.get(pk=inbox_user),
        "committee": committee.user,
        "principal": principal.user,
        "county": Hazard.objects.filter(department_id=dept).values_list("county_id", flat=True)[0],
    }


def page_specs(people: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(name, url, user) of every page measured."""
    county = people["county"]
    return [
        ("department queue", "/hazard/queue/", people["staff"]),
        ("inbox", "/hazard/inbox/", people["inbox"]),
        ("hazard list (department)", "/hazards/", people["staff"]),
        (
            "hazard list (department, filtered)",
            "/hazards/?stage=rectify&overdue=on",
            people["staff"],
        ),
        ("committee-office list", "/hazards/", people["committee"]),
        (
            "committee-office list (filtered)",
            f"/hazards/?county={county}&stage=verify&grade=general",
            people["committee"],
        ),
        ("enterprise portal", "/hazards/portal/", people["principal"]),
    ]


@contextmanager
def page_size(size: int) -> Iterator[None]:
    """Every list page at ``size`` rows (queue/inbox, the ledger, the portal's deadlines)."""
    from workflows.hazards import views, viewsets

    with (
        mock.patch.object(viewsets._HazardTaskListView, "paginate_by", size),
        mock.patch.object(views, "PER_PAGE", size),
        mock.patch.object(views, "PORTAL_DEADLINES", size),
    ):
        yield


def measure_page(
    name: str, url: str, user: Any, *, requests: int, sizes: Sequence[int], no_seqscan: bool
) -> PageResult:
    """Time ``requests`` GETs (after one warm-up), count queries at each page size, plan them."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    result = PageResult(name=name, url=url, user=user.username)
    response = client.get(url)  # warm-up: templates, caches, the session
    result.status = response.status_code
    times: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    result.p50_ms = round(percentile(times, 50), 1)
    result.p95_ms = round(percentile(times, 95), 1)
    captured: list[str] = []
    for size in sizes:
        with page_size(size), CaptureQueriesContext(connection) as queries:
            client.get(url)
        result.queries_by_page_size[str(size)] = len(queries)
        captured = [q["sql"] for q in queries.captured_queries]
    result.queries = max(result.queries_by_page_size.values())
    nodes: set[str] = set()
    scans: set[str] = set()
    for sql in captured:
        if not sql.lstrip().upper().startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
            continue
        plan = explain(sql, no_seqscan=no_seqscan)
        nodes.update(plan["node_types"])
        scans.update(plan["seq_scans"])
    result.node_types = sorted(nodes)
    result.seq_scans = sorted(scans)
    return result


def measure_pages(*, requests: int, sizes: Sequence[int], no_seqscan: bool) -> list[PageResult]:
    """Every page of ``page_specs`` for its persona."""
    people = personas()
    return [
        measure_page(name, url, user, requests=requests, sizes=sizes, no_seqscan=no_seqscan)
        for name, url, user in page_specs(people)
    ]


# --- the sweep -----------------------------------------------------------------------------------


def claim_plan(*, no_seqscan: bool) -> dict[str, Any]:
    """The plan of the sweep's claim (``deadlines.selectors.deadlines_due``, a batch of 500)."""
    from django.db import connection, transaction

    from workflows.deadlines.selectors import deadlines_due

    with transaction.atomic():  # a FOR UPDATE query compiles only inside a transaction
        compiler = deadlines_due(batch=500).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
    return explain(sql, params, no_seqscan=no_seqscan)


def list_plan(*, no_seqscan: bool) -> dict[str, Any]:
    """The plan of the committee office's unfiltered ledger page (the city's whole table)."""
    from django.db import connection

    from workflows.hazards.selectors import hazards_visible_to, with_deadline_clock
    from workflows.hazards.views import LIST_RELATED

    user = personas()["committee"]
    qs = with_deadline_clock(hazards_visible_to(user=user).select_related(*LIST_RELATED))
    sql, params = (
        qs.order_by("-found_at", "-id")[:21].query.get_compiler(connection=connection).as_sql()
    )
    return explain(sql, params, no_seqscan=no_seqscan)


def make_due(count: int) -> int:
    """Make ``count`` open clocks due a minute ago (one UPDATE): each fell due at the end of one
    of the last ten days (as day-counted stages do) and restarts its ladder, so each fires its
    first rung(s); returns how many were."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE deadlines_deadline SET next_action_at = now() - interval '1 minute', "
            "due_at = date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE "
            "'Asia/Shanghai' - (1 + id %% 10) * interval '1 day' - interval '1 second', "
            "step = 0, generation = generation + 1 "
            "WHERE id IN (SELECT id FROM deadlines_deadline WHERE open AND next_action_at IS NOT "
            "NULL AND next_action_at > now() ORDER BY id LIMIT %s)",
            [count],
        )
        return int(cursor.rowcount)


IDLE_RUNS = 21
DUE_RUNS = 3  # up to 1,000 due: the median of three sweeps, each of freshly due clocks


def measure_sweep(due_counts: Sequence[int]) -> list[dict[str, Any]]:
    """Time ``deadlines_sweep`` with each count of due clocks (0 = nothing due: the median of
    ``IDLE_RUNS`` runs after a warm-up; up to 1,000 due: the median of ``DUE_RUNS`` sweeps, each
    after making that many clocks due again; more: one sweep). Runs with query logging off, as in
    production; every run's time is kept (``all_ms``)."""
    import logging

    from django.conf import settings
    from django.urls import get_resolver

    from project.celery import populate_reverse
    from workflows.deadlines.services import deadlines_sweep

    logging.getLogger("workflows.deadlines.services").setLevel(logging.ERROR)
    debug, settings.DEBUG = settings.DEBUG, False
    try:
        # Warm-up, as in a worker (project.celery loads the URL map at process start; importing
        # it on the first fired reminder cost ≈ 0.35 s), then connections, translations and the
        # calendar cache.
        populate_reverse(get_resolver())
        deadlines_sweep()
        runs = []
        for count in due_counts:
            repeats = IDLE_RUNS if not count else DUE_RUNS if count <= 1000 else 1
            times = []
            made = 0
            for _ in range(repeats):
                made = make_due(count) if count else 0
                started = time.perf_counter()
                result = deadlines_sweep()
                times.append(time.perf_counter() - started)
            took = percentile(times, 50)
            runs.append(
                {
                    "due": made,
                    "seconds": round(took, 4),
                    "ms": round(took * 1000, 1),
                    "runs": repeats,
                    "all_ms": [round(s * 1000, 1) for s in times],
                    **result.as_dict(),
                    "reminders_per_s": round(result.fired / took, 1) if result.fired else 0.0,
                    "notifications_per_s": round(result.notifications / took, 1)
                    if result.notifications
                    else 0.0,
                }
            )
        return runs
    finally:
        settings.DEBUG = debug


# --- report --------------------------------------------------------------------------------------


def table_sizes() -> dict[str, int]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            sizes[table] = cursor.fetchone()[0]
    return sizes


def summary(report: dict[str, Any]) -> str:
    """The Markdown tables printed at the end of a run."""
    lines = [
        f"## SafeChain bench — {report['at']} — {report['machine']}",
        "",
        "Rows: " + ", ".join(f"{t} {n:,}" for t, n in report["tables"].items()),
        "",
        "| Page | User | Status | p50 ms | p95 ms | Queries (by page size) | Seq scans |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in report["pages"]:
        sizes = ", ".join(f"{k}→{v}" for k, v in p["queries_by_page_size"].items())
        lines.append(
            f"| {p['name']} | {p['user']} | {p['status']} | {p['p50_ms']} | {p['p95_ms']} "
            f"| {p['queries']} ({sizes}) | {', '.join(p['seq_scans']) or '—'} |"
        )
    lines += ["", "| Plan | Node types | Seq scans on big tables |", "|---|---|---|"]
    for name, plan in report["plans"].items():
        lines.append(
            f"| {name} | {', '.join(plan['node_types'])} | {', '.join(plan['seq_scans']) or '—'} |"
        )
    if report.get("sweep"):
        lines += [
            "",
            "| Sweep: due | ms (median) | runs | claimed | fired | notifications | reminders/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in report["sweep"]:
            runs = ", ".join(str(ms) for ms in run.get("all_ms", [])) if run["due"] else "—"
            lines.append(
                f"| {run['due']:,} | {run['ms']} | {runs} | {run['claimed']} | {run['fired']} "
                f"| {run['notifications']} | {run['reminders_per_s']} |"
            )
    return "\n".join(lines)


LIFECYCLE_ANSWERS = {"record": "whole record answers", "minimal": "Prefer: return=minimal"}
TARGET_PAGES = ("department queue", "inbox", "hazard list (department)")


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def targets(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, target, measured, met?) for every target of issue 7 the report has figures for."""
    rows: list[tuple[str, str, str, str]] = []
    pages = {p["name"]: p for p in report.get("pages", [])}
    for name in TARGET_PAGES:
        if name in pages:
            p = pages[name]
            rows.append(
                (
                    f"{name}: server time (in-process, one user)",
                    "p50 ≤ 50 ms, p95 ≤ 200 ms",
                    f"p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms",
                    _mark(p["p50_ms"] <= 50 and p["p95_ms"] <= 200),
                )
            )
    if pages:
        worst = max(p["queries"] for p in pages.values())
        constant = all(len(set(p["queries_by_page_size"].values())) == 1 for p in pages.values())
        rows.append(
            (
                "SQL queries per page",
                "≤ 12, constant in page size",
                f"max {worst}, {'constant' if constant else 'varies'}",
                _mark(worst <= MAX_QUERIES and constant),
            )
        )
    for run in report.get("sweep", []):
        if run["due"] == 0:
            rows.append(("sweep, nothing due", "≤ 5 ms", f"{run['ms']} ms", _mark(run["ms"] <= 5)))
        elif run["due"] <= 1000:
            rows.append(
                (
                    f"sweep, {run['due']:,} due",
                    "≤ 500 ms",
                    f"{run['ms']} ms",
                    _mark(run["ms"] <= 500),
                )
            )
        if run["fired"]:
            rows.append(
                (
                    f"reminders generated ({run['due']:,} due)",
                    "≥ 1,000 per second",
                    f"{run['reminders_per_s']:,} per second",
                    _mark(run["reminders_per_s"] >= 1000),
                )
            )
    load = report.get("load") or {}
    checks = load.get("integrity") or {}
    for lifecycle in load.get("lifecycles") or []:
        overall = lifecycle.get("overall") or {}
        rate, p95 = lifecycle.get("lifecycles_per_s") or 0, overall.get("p95_ms") or 1e9
        lost, duplicated = checks.get("lost"), checks.get("duplicated")
        rows.append(
            (
                f"general lifecycles via HTTP ({lifecycle.get('clients')} clients, "
                f"{LIFECYCLE_ANSWERS.get(lifecycle.get('answer'), lifecycle.get('answer'))})",
                "≥ 20/s, transition p95 ≤ 300 ms, 0 lost, 0 duplicated",
                f"{rate}/s, p95 {p95} ms, {lost} lost, {duplicated} duplicated",
                _mark(rate >= 20 and p95 <= 300 and lost == 0 and duplicated == 0),
            )
        )
    for page in (load.get("pages") or {}).get("pages", []):
        if page["name"] in TARGET_PAGES:
            p50, p95 = page.get("server_p50_ms"), page.get("server_p95_ms")
            if p50 is None or p95 is None:
                continue
            rows.append(
                (
                    f"{page['name']}: server time, 8 concurrent users over HTTP",
                    "p50 ≤ 50 ms, p95 ≤ 200 ms",
                    f"p50 {p50} ms, p95 {p95} ms (client {page['p50_ms']} / {page['p95_ms']} ms)",
                    _mark(p50 <= 50 and p95 <= 200),
                )
            )
    memory = [
        ("gunicorn worker", worker["rss_mb"])
        for worker in (load.get("memory") or {}).get("workers", [])
    ]
    memory += [
        ("Celery worker", run["worker_child_rss_mb"]) for run in report.get("delivery", [])[-1:]
    ]
    for what, mb in memory:
        rows.append((f"RSS of a {what}", "≤ 200 MB", f"{mb} MB", _mark(mb <= 200)))
    return rows


def targets_table(report: dict[str, Any]) -> str:
    lines = ["| Measure | Target | Measured | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets(report)]
    return "\n".join(lines)


def run(
    *, db: str, requests: int, due: Sequence[int], sizes: Sequence[int], no_seqscan: bool
) -> dict[str, Any]:
    """Measure everything against ``db`` and return the report (also written as JSON)."""
    setup_django(db)
    from django.utils import timezone

    report: dict[str, Any] = {
        "at": timezone.now().isoformat(timespec="seconds"),
        "db": db,
        "machine": f"{platform.node()} {platform.machine()} {_cpus()} CPUs, "
        f"Python {platform.python_version()}",
        "tables": table_sizes(),
        "no_seqscan_planning": no_seqscan,
    }
    report["pages"] = [
        asdict(p) for p in measure_pages(requests=requests, sizes=sizes, no_seqscan=no_seqscan)
    ]
    report["plans"] = {
        "sweep claim": claim_plan(no_seqscan=no_seqscan),
        "committee ledger page": list_plan(no_seqscan=no_seqscan),
    }
    report["sweep"] = measure_sweep(due) if due else []
    return report


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def write(report: dict[str, Any], *, prefix: str = "") -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"{prefix}{stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return path


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: measure a seeded database, write the JSON, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="safechain_bench")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--due", default="0,1000,100000", help="comma-separated due counts")
    parser.add_argument("--sizes", default="5,20", help="page sizes compared for query counts")
    args = parser.parse_args(argv)
    report = run(
        db=args.db,
        requests=args.requests,
        due=[int(x) for x in args.due.split(",") if x != ""],
        sizes=[int(x) for x in args.sizes.split(",")],
        no_seqscan=False,
    )
    path = write(report)
    print(summary(report))  # noqa: T201
    print(f"\nresults: {path}")  # noqa: T201
    return report


if __name__ == "__main__":
    main()
