"""Deliveries per second of one Celery worker against a mock SMS gateway, and the worker's memory.

    .venv/bin/python -m bench.delivery [--db safechain_bench] [--rows 10000] [--chunks 1,50]

For each chunk size: ``notify_many`` writes ``--rows`` SMS outbox rows (seeded users' mobiles) in
one transaction; its commit enqueues the delivery messages (``deliver_many``, ``chunk`` rows each —
chunk 1 is one Celery task per row) to Redis; ONE worker process (``--concurrency 1``, prefork, the
production pool) claims, sends and records each row against a local HTTP gateway that answers 200
at once. *Deliveries/s* = rows sent / seconds from the commit until the last row is ``sent``.
*RSS* = resident memory of the worker's child process (the one that runs the tasks) and of its
master after every run; with ``--chunks 1`` first the child has run ``--rows`` tasks by then.
The broker is ``CELERY_BROKER_URL`` (default redis://127.0.0.1:6379/13, flushed of nothing else:
the bench uses its own queue name).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import database_url, setup_django
from bench.load import children, memory

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/13"
QUEUE = "bench-delivery"


class _Gateway(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Gateway.lock:
            _Gateway.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def gateway() -> Iterator[str]:
    """A local SMS gateway answering 200 to every POST; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/send"
    finally:
        server.shutdown()


@contextmanager
def worker(*, db: str, broker: str, sms_url: str, chunk: int) -> Iterator[subprocess.Popen[bytes]]:
    """One Celery worker (prefork, one child) on the bench queue; stopped (TERM, then KILL)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_delivery",
        "DATABASE_URL": database_url(db),
        "CELERY_BROKER_URL": broker,
        "BENCH_SMS_URL": sms_url,
        "BENCH_DELIVERY_CHUNK": str(chunk),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(  # noqa: S603 - our own venv's celery, fixed arguments
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "project",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "-Q",
            QUEUE,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB."""
    return memory(pid).get("VmRSS", 0.0)


def write_rows(count: int, run: str) -> list[int]:
    """``count`` SMS notifications to seeded users with mobiles; their commit enqueues delivery."""
    from django.db import transaction

    from accounts.models import User
    from workflows.notifications.services import NotificationRequest, notify_many

    users = list(User.objects.exclude(mobile="").values_list("pk", "mobile")[:1000])
    requests = [
        NotificationRequest(
            key=f"bench:delivery:{run}:{n}",
            user_id=users[n % len(users)][0],
            channels=["sms"],
            title="隐患整改提醒",
            body=f"基准测试短信 {n}",
            mobile=users[n % len(users)][1],
        )
        for n in range(count)
    ]
    with transaction.atomic():
        notify_many(requests)
    from workflows.notifications.models import Outbox

    return list(
        Outbox.objects.filter(key__startswith=f"bench:delivery:{run}:").values_list("pk", flat=True)
    )


def wait_sent(ids: Sequence[int], *, timeout: float) -> tuple[int, int]:
    """Poll until every row is final or ``timeout``; returns (sent, failed)."""
    from django.db.models import Count

    from workflows.notifications.models import Outbox

    deadline = time.monotonic() + timeout
    while True:
        done = dict(
            Outbox.objects.filter(pk__in=ids, status__in=["sent", "failed", "cancelled"])
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        if sum(done.values()) >= len(ids) or time.monotonic() > deadline:
            return done.get("sent", 0), done.get("failed", 0)
        time.sleep(0.2)


def measure(*, db: str, rows: int, chunks: Sequence[int], broker: str) -> list[dict[str, Any]]:
    """One run per chunk size, each with a fresh worker; returns the figures."""
    from django.conf import settings

    settings.CELERY_TASK_DEFAULT_QUEUE = QUEUE
    from project.celery import app

    app.conf.task_default_queue = QUEUE
    app.conf.broker_url = broker
    results = []
    with gateway() as url:
        for chunk in chunks:
            settings.NOTIFICATIONS_DELIVERY_CHUNK = chunk
            with worker(db=db, broker=broker, sms_url=url, chunk=chunk) as process:
                time.sleep(3)  # the worker connects; messages wait in Redis meanwhile anyway
                before = _Gateway.received
                run = f"{int(time.time())}-{chunk}"
                started = time.perf_counter()
                ids = write_rows(rows, run)
                sent, failed = wait_sent(ids, timeout=max(120.0, rows / 20))
                took = time.perf_counter() - started
                child = (children(process.pid) or [process.pid])[0]
                results.append(
                    {
                        "chunk": chunk,
                        "rows": len(ids),
                        "tasks": -(-len(ids) // chunk),
                        "sent": sent,
                        "failed": failed,
                        "gateway_requests": _Gateway.received - before,
                        "seconds": round(took, 2),
                        "deliveries_per_s": round(sent / took, 1) if took else 0.0,
                        "worker_child_rss_mb": rss_mb(child),
                        "worker_master_rss_mb": rss_mb(process.pid),
                    }
                )
    return results


def in_subprocess(*, db: str, rows: int, chunks: Sequence[int]) -> list[dict[str, Any]]:
    """``run`` in a fresh interpreter (for ``bench.run``, whose Django already uses memory://)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "delivery.json"
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "bench.delivery",
                "--db",
                db,
                "--rows",
                str(rows),
                "--chunks",
                ",".join(map(str, chunks)),
                "--out",
                str(out),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
        )
        runs: list[dict[str, Any]] = json.loads(out.read_text())["delivery"]
        return runs


def summary(runs: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| Chunk | Rows | Tasks | Sent | Failed | Gateway calls | s | Deliveries/s | "
        "Worker child RSS MB | Master RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['chunk']} | {r['rows']:,} | {r['tasks']:,} | {r['sent']:,} | {r['failed']} "
            f"| {r['gateway_requests']:,} | {r['seconds']} | {r['deliveries_per_s']} "
            f"| {r['worker_child_rss_mb']} | {r['worker_master_rss_mb']} |"
        )
    return "\n".join(lines)


def run(*, db: str, rows: int, chunks: Sequence[int]) -> list[dict[str, Any]]:
    """Measure in THIS process, which must not have set Django up yet: its Celery app has to
    publish to Redis, not to the in-memory broker of the other bench scripts (``in_subprocess``)."""
    broker = os.environ.get("BENCH_BROKER_URL", BROKER)
    os.environ["CELERY_BROKER_URL"] = broker
    setup_django(db)
    return measure(db=db, rows=rows, chunks=chunks, broker=broker)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    from bench import measure as bench_measure

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="safechain_bench")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--chunks", default="1,50")
    parser.add_argument("--out", help="write the JSON here instead of bench/results/")
    args = parser.parse_args(argv)
    runs = run(db=args.db, rows=args.rows, chunks=[int(c) for c in args.chunks.split(",")])
    if args.out:
        path = Path(args.out)
        path.write_text(json.dumps({"delivery": runs}, indent=2))
    else:
        path = bench_measure.write({"delivery": runs}, prefix="delivery-")
    print(summary(runs))  # noqa: T201
    print(f"\nresults: {path}")  # noqa: T201
    return runs


if __name__ == "__main__":
    main()
