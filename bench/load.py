"""Load a seeded bench database over HTTP: hazard lifecycles, pages and worker memory (issue 7).

    .venv/bin/python -m bench.load [--db safechain_bench] [--clients 8] [--lifecycles 200]
        [--page-users 8] [--page-requests 400] [--min-requests 10000] [--port 8765]

The app runs as in production: ``gunicorn project.wsgi --workers 2`` (sync workers) started here with
``DEBUG=0``, a random ``SECRET_KEY``, static files collected (``manage.py collectstatic``) into a temporary ``STATIC_ROOT`` (the
manifest storage of production needs them), uploads into a temporary ``MEDIA_ROOT``,
``CELERY_BROKER_URL=memory://`` (no worker: notifications are queued and dropped), API throttles
lifted and ``SECURE_SSL_REDIRECT=0`` — the one switch production mode needs to answer plain HTTP
(secure cookies are still set; this client sends them back over loopback as a TLS proxy would).
This process prepares personal tokens through the ORM (hashed with the server's ``SECRET_KEY``),
drives the server with stdlib ``http.client`` from threads and checks the database at the end.
Every latency is measured twice: *client* = wall time over loopback (the server's time, plus about
a millisecond, plus any wait in gunicorn's listen queue while both workers are busy — with more
client threads than workers that wait is part of what a user would see) and *server* = the app's
own time from its ``Server-Timing: app;dur=…`` header (``project.middleware``), which is what the
issue's "server time" targets mean. Phases, in order:

- **Lifecycles** — ``--clients`` threads each run whole general-hazard lifecycles through the API
  until ``--lifecycles`` were started: *report* (multipart, one before-photo, source routine, by a
  staff member of a line department of the enterprise's county) → *claim_triage* (the open task of
  the report's answer, by a staff member or head of the department it was routed to, never the
  reporter) → *triage* (grade general, deadline in 20 days) → *rectify* (multipart with one
  after-photo, by the enterprise's principal; the step takes an unclaimed rectify task itself, so
  there is no claim) → *claim_verify* (another member of the department, not the reporter) →
  *verify* (passed: the hazard closes). *lifecycles/s* = completed lifecycles / wall time of the
  phase; per transition kind: p50/p95 ms of the 2xx answers, status codes, *409* = lock conflicts
  (each retried at most ``CONFLICT_RETRIES`` times), errors (a non-2xx answer after retries, a
  wrong stage, a broken connection — the lifecycle stops there).
  Run once per ``--answers`` kind, in order: ``record`` (every step answers with the whole hazard
  record, the API's default) and ``minimal`` (``Prefer: return=minimal``: the ledger row and the
  open task, which is all a client moving hazards on needs).
- **Integrity** — for every hazard code the clients got back, the 2xx transitions are compared with
  its ``Event`` rows (report → ``report`` + ``route``, triage → ``triage``, rectify → ``rectify``,
  verify → ``verify_pass``): *lost* = a 2xx transition without its event, *duplicated* = more events
  of an action than 2xx answers; *unexpected events* = actions no transition makes. Claims are
  checked on the tasks: *claims lost* = a 2xx claim whose task was not done by the claimant,
  *duplicated tasks* = more than one human task of a node; *orphans* = hazards reported by the
  bench reporters during the run whose code no client received; *not closed* = completed
  lifecycles whose hazard is not closed. All must be 0.
- **Pages** — ``--page-users`` threads, each with its own logged-in session per persona of
  ``bench.measure.personas`` (logged in over HTTP: GET the login page for the CSRF cookie and
  token, POST the password), request ``bench.measure.page_specs`` round robin until
  ``--page-requests`` were timed (after one untimed warm-up of every page per thread): p50/p95 ms and
  status codes per page (all must be 200); the login POSTs are timed too.
- **Memory** — authenticated ``GET /api/v1/me`` (*filler*) until the workers have served
  ``--min-requests`` requests counting every phase (health probes, logins and warm-ups included).
  *RSS* = ``VmRSS`` of each worker (children of the gunicorn master, ``/proc/<pid>/status``) in MB,
  read after start-up, after the lifecycles, after the pages and at the end, with its peak
  (``VmHWM``). The workers are never recycled (no ``--max-requests``), so growth shows.

Writes ``bench/results/load-<timestamp>.json``, prints a Markdown summary; exits 1 when a lifecycle
failed, an integrity figure is not 0 or a page answered other than 200.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import platform
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import database_url, setup_django
from bench.measure import LIFECYCLE_ANSWERS, page_specs, percentile, personas, write

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Anlian-2026"  # noqa: S105 - every seeded user's (bench.seed)
TOKEN_NAME = "bench-load"  # noqa: S105 - the name, not the secret
TIMEOUT = 120.0  # seconds per request
CONFLICT_RETRIES = 3
WORKERS = 2
KINDS = ("report", "claim_triage", "triage", "rectify", "claim_verify", "verify")
# The audit events each transition writes (workflows.hazards.services).
EVENTS_OF: dict[str, tuple[str, ...]] = {
    "report": ("report", "route"),
    "triage": ("triage",),
    "rectify": ("rectify",),
    "verify": ("verify_pass",),
}
# Lifecycle phases: steps answered with the whole record (the default), then with the ledger row
# and the open task (``Prefer: return=minimal``, RFC 7240).
ANSWERS = tuple(LIFECYCLE_ANSWERS)
STAGE_AFTER = {"report": "triage", "triage": "rectify", "rectify": "verify", "verify": "closed"}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- HTTP --------------------------------------------------------------------------------------


class RequestCount:
    """How many requests were sent to the server (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


SERVER_TIMING = re.compile(r"(?:^|,)\s*app;dur=([0-9.]+)")


def server_ms(headers: Message) -> float | None:
    """The server's own time of a response (``Server-Timing: app;dur=…``), or None."""
    found = SERVER_TIMING.search(headers.get("Server-Timing") or "")
    return float(found.group(1)) if found else None


@dataclass
class Reply:
    status: int  # 0: no answer (connection error, timeout)
    body: bytes
    ms: float
    server_ms: float | None = None  # the app's own time (Server-Timing), without the wait

    def json(self) -> Any:
        return json.loads(self.body)

    def brief(self) -> str:
        return self.body[:300].decode("utf-8", "replace").replace("\n", " ")


class Jar:
    """The cookies of one browser session (names as the server sets them, ``__Host-`` included)."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def update(self, headers: Message) -> None:
        for raw in headers.get_all("Set-Cookie") or []:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(raw)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, suffix: str) -> str | None:
        """The value of the cookie named ``suffix`` or ``__Host-<suffix>``."""
        return self.cookies.get(suffix) or self.cookies.get(f"__Host-{suffix}")


class Http:
    """One thread's connection to the server. Gunicorn's sync workers close the connection after
    every response; ``http.client`` then opens a new one on the next request."""

    def __init__(self, port: int, count: RequestCount) -> None:
        self.port = port
        self.count = count
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        jar: Jar | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if jar is not None and jar.cookies:
            sent["Cookie"] = jar.header()
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.count.add()
            ms = (time.perf_counter() - started) * 1000
            return Reply(0, f"{type(exc).__name__}: {exc}".encode(), ms)
        ms = (time.perf_counter() - started) * 1000
        self.count.add()
        if jar is not None:
            jar.update(response.headers)
        return Reply(response.status, data, ms, server_ms(response.headers))

    def close(self) -> None:
        self.conn.close()


def multipart(
    fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (text fields, then JPEG files) and its content type."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, filename, content in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def jpeg(color: str) -> bytes:
    """A real small JPEG (64×48), as a phone would upload it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return buffer.getvalue()


# --- tallies -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Latencies and status codes per kind of request, from many threads."""

    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    conflicts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, reply: Reply, *, success: int | None = None) -> None:
        """Count ``reply``; its latency is kept when it succeeded (2xx, or the ``success`` code)."""
        with self._lock:
            self.statuses[kind][reply.status] += 1
            if reply.status == 409:
                self.conflicts[kind] += 1
            if reply.status == success or (success is None and 200 <= reply.status < 300):
                self.ms[kind].append(reply.ms)
                if reply.server_ms is not None:
                    self.server[kind].append(reply.server_ms)

    def error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def stats(self, kind: str) -> dict[str, Any]:
        times = self.ms.get(kind, [])
        server = self.server.get(kind, [])
        return {
            "ok": len(times),
            "p50_ms": round(percentile(times, 50), 1) if times else None,
            "p95_ms": round(percentile(times, 95), 1) if times else None,
            "max_ms": round(max(times), 1) if times else None,
            "server_p50_ms": round(percentile(server, 50), 1) if server else None,
            "server_p95_ms": round(percentile(server, 95), 1) if server else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.get(kind, Counter()).items())},
            "conflicts_409": self.conflicts.get(kind, 0),
        }

    def overall(self, kinds: Sequence[str]) -> dict[str, Any]:
        times = [t for kind in kinds for t in self.ms.get(kind, [])]
        server = [t for kind in kinds for t in self.server.get(kind, [])]
        return {
            "ok": len(times),
            "p50_ms": round(percentile(times, 50), 1) if times else None,
            "p95_ms": round(percentile(times, 95), 1) if times else None,
            "server_p50_ms": round(percentile(server, 50), 1) if server else None,
            "server_p95_ms": round(percentile(server, 95), 1) if server else None,
            "conflicts_409": sum(self.conflicts.get(k, 0) for k in kinds),
        }


# --- actors (ORM) ------------------------------------------------------------------------------


@dataclass
class Actors:
    """Who plays which part, with a personal token each (user id → secret)."""

    enterprises: list[tuple[str, int, int]]  # (USCC, county id, principal's user id)
    reporters: dict[int, list[int]]  # county id → staff of its line departments
    members: dict[str, list[int]]  # department code → its staff and head
    industry: str  # code of the (leaf) industry every report names
    tokens: dict[int, str] = field(default_factory=dict)


def pick_actors(*, lifecycles: int) -> Actors:
    """Enterprises with a principal (at most one per lifecycle), the line departments' staff of their
    counties as reporters, and the staff and head of every city or county department (where a
    hazard can be routed: township governments never lead)."""
    from accounts.models import Department, DepartmentKind, Enterprise, Membership
    from workflows.responsibility.models import Industry

    enterprises: list[tuple[str, int, int]] = [
        (e.uscc, e.region.parent_id, e.principal_id)
        for e in Enterprise.objects.filter(
            principal__isnull=False,
            status=Enterprise.Status.ACTIVE,
            memberships__role=Membership.Role.PRINCIPAL,
            region__level="township",
        )
        .select_related("region")
        .distinct()
        .order_by("pk")[:lifecycles]
        if e.principal_id is not None and e.region.parent_id is not None
    ]
    if not enterprises:
        raise SystemExit("no enterprise with a principal: was the database seeded by bench.seed?")
    counties = {county for _, county, _ in enterprises}
    reporters: dict[int, list[int]] = defaultdict(list)
    for user_id, county in (
        Membership.objects.filter(
            role=Membership.Role.STAFF,
            department__region_id__in=counties,
            user__is_active=True,
        )
        .exclude(department__kind__code=DepartmentKind.COMMITTEE_OFFICE)
        .order_by("pk")
        .values_list("user_id", "department__region_id")
    ):
        reporters[county].append(user_id)
    members: dict[str, list[int]] = defaultdict(list)
    routable = Department.objects.filter(region__level__in=("city", "county"))
    for user_id, code in (
        Membership.objects.filter(
            department__in=routable,
            role__in=(Membership.Role.STAFF, Membership.Role.HEAD),
            user__is_active=True,
        )
        .order_by("pk")
        .values_list("user_id", "department__code")
    ):
        members[code].append(user_id)
    leaf = (
        Industry.objects.filter(children__isnull=True)
        .order_by("code")
        .values_list("code", flat=True)
    )
    industry = leaf.first()
    if industry is None:
        raise SystemExit("no industry in the database: was it migrated?")
    enterprises = [e for e in enterprises if reporters.get(e[1])]
    return Actors(enterprises, dict(reporters), dict(members), industry)


def issue_tokens(user_ids: Sequence[int]) -> dict[int, str]:
    """A fresh personal token for each user; the bench's tokens of earlier runs are revoked first
    (a user holds at most 20 active tokens)."""
    from accounts.models import User
    from workflows.api.models import PersonalToken
    from workflows.api.services import personal_token_create, personal_token_revoke

    for old in PersonalToken.objects.filter(
        user_id__in=user_ids, name=TOKEN_NAME, revoked_at__isnull=True
    ):
        personal_token_revoke(token=old)
    tokens = {}
    for user in User.objects.filter(pk__in=user_ids).order_by("pk"):
        _row, secret = personal_token_create(user=user, name=TOKEN_NAME)
        tokens[user.pk] = secret
    return tokens


# --- the server --------------------------------------------------------------------------------


@dataclass
class Server:
    """A gunicorn master we started, with its temporary directory and log."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log: Path

    def workers(self) -> list[int]:
        """Pids of the master's children (its workers)."""
        return sorted(children(self.process.pid))

    def snapshot(self, label: str, count: RequestCount) -> dict[str, Any]:
        """RSS (MB) of every worker now, with the number of requests sent so far."""
        return {
            "at": label,
            "requests": count.value,
            "rss_mb": {str(pid): memory(pid).get("VmRSS") for pid in self.workers()},
        }

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def error_lines(self, limit: int = 20) -> list[str]:
        """Log lines at ERROR or above (tracebacks of 500s, worker timeouts)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        # /healthz answers 503 here (no beat runs): those are the readiness probes, not errors.
        return [
            line
            for line in text.splitlines()
            if (" ERROR " in line or "CRITICAL" in line) and "/healthz" not in line
        ][:limit]


def children(pid: int) -> list[int]:
    """Pids of the children of ``pid`` (``/proc/<pid>/task/<pid>/children``; a forking master is
    single-threaded, so its main thread has them all)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def memory(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of ``pid`` in MB."""
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        pass
    return values


def server_env(*, db: str, workdir: Path, secret_key: str) -> dict[str, str]:
    """Production mode over plain HTTP on loopback (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "ALLOWED_HOSTS")}
    env.update(
        {
            "DATABASE_URL": database_url(db),
            "DEBUG": "0",
            "SECRET_KEY": secret_key,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "CELERY_BROKER_URL": "memory://",
            "API_TOKEN_RATE": "1000000/min",
            "API_USER_RATE": "1000000/min",
            "SAFECHAIN_VAR_DIR": str(workdir),
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            "EMAIL_URL": "filemail://",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "project.settings",
        }
    )
    return env


@contextmanager
def gunicorn(*, db: str, port: int, secret_key: str, count: RequestCount) -> Iterator[Server]:
    """Collect static files, start ``gunicorn project.wsgi`` on ``port``, wait until it answers;
    terminate it (and remove its temporary directory) however the block ends."""
    workdir = Path(tempfile.mkdtemp(prefix="safechain-load-"))
    env = server_env(db=db, workdir=workdir, secret_key=secret_key)
    bin_dir = Path(sys.executable).parent
    log = workdir / "gunicorn.log"
    try:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own argv
                [
                    str(bin_dir / "gunicorn"),
                    "project.wsgi",
                    "--workers",
                    str(WORKERS),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--access-logfile",
                    "/dev/null",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, port, workdir, log)
        try:
            wait_ready(server, count)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def wait_ready(server: Server, count: RequestCount, timeout: float = 60) -> None:
    """Poll ``/healthz`` until it answers (503 is an answer: no beat runs here) and both workers
    are up."""
    http = Http(server.port, count)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.process.returncode}):\n{server.log_tail()}")
        if http.send("GET", "/healthz").status in (200, 503) and len(server.workers()) >= WORKERS:
            http.close()
            return
        time.sleep(0.25)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{server.log_tail()}")


# --- lifecycles --------------------------------------------------------------------------------


@dataclass
class Lifecycle:
    """What one client saw of one hazard: its code, who acted, which transitions answered 2xx."""

    code: str = ""
    reporter: int = 0
    triager: int = 0
    verifier: int = 0
    ok: list[str] = field(default_factory=list)
    completed: bool = False


class LifecycleClient:
    """One client thread: takes lifecycle numbers from a shared counter and runs each to the end."""

    def __init__(
        self,
        *,
        index: int,
        port: int,
        count: RequestCount,
        actors: Actors,
        tally: Tally,
        numbers: Callable[[], int | None],
        deadline_on: str,
        answer: str = "record",
    ) -> None:
        self.http = Http(port, count)
        self.prefer = {"Prefer": "return=minimal"} if answer == "minimal" else {}
        self.actors = actors
        self.tally = tally
        self.numbers = numbers
        self.deadline_on = deadline_on
        self.rng = random.Random(index)  # noqa: S311 - picking actors, not secrets
        self.done: list[Lifecycle] = []
        self.before = jpeg("red")
        self.after = jpeg("green")

    def run(self) -> None:
        while (n := self.numbers()) is not None:
            life = Lifecycle()
            self.done.append(life)
            try:
                self.lifecycle(n, life)
            except StepFailed as exc:
                self.tally.error(str(exc))
            except Exception as exc:  # a client bug must not stop the other lifecycles
                self.tally.error(f"lifecycle {n} ({life.code}): {type(exc).__name__}: {exc}")
        self.http.close()

    def step(
        self,
        kind: str,
        path: str,
        user: int,
        *,
        body: bytes,
        content_type: str,
        life: Lifecycle,
        expect: int = 200,
    ) -> Any:
        """POST one transition as ``user``; retry a 409 a few times; the answer's JSON or
        ``StepFailed``."""
        headers = {
            "Authorization": f"Bearer {self.actors.tokens[user]}",
            "Accept": "application/json",
            "Content-Type": content_type,
            **self.prefer,
        }
        for attempt in range(CONFLICT_RETRIES + 1):
            reply = self.http.send("POST", path, body=body, headers=headers)
            self.tally.record(kind, reply)
            if reply.status != 409 or attempt == CONFLICT_RETRIES:
                break
            time.sleep(0.05 * (attempt + 1))
        if reply.status != expect:
            raise StepFailed(
                f"{kind} of {life.code or 'a new hazard'}: {reply.status} {reply.brief()}"
            )
        life.ok.append(kind)
        data = reply.json()
        stage = STAGE_AFTER.get(kind)
        if stage is not None and data.get("stage") != stage:
            raise StepFailed(f"{kind} of {life.code}: stage {data.get('stage')!r}, not {stage!r}")
        return data

    def json_step(self, kind: str, path: str, user: int, payload: Any, life: Lifecycle) -> Any:
        body = json.dumps(payload).encode()
        return self.step(kind, path, user, body=body, content_type="application/json", life=life)

    def lifecycle(self, n: int, life: Lifecycle) -> None:
        from django.urls import reverse

        uscc, county, principal = self.actors.enterprises[n % len(self.actors.enterprises)]
        life.reporter = self.rng.choice(self.actors.reporters[county])
        body, ctype = multipart(
            [
                ("enterprise", uscc),
                ("source", "routine"),
                ("title", f"基准压测隐患{n}：消防通道堵塞"),
                ("description", "压测：二号车间消防通道被货物堵塞。"),
                ("location", "二号车间"),
                ("grade", "general"),
                ("industry", self.actors.industry),
            ],
            [("before_photos", f"before-{n}.jpg", self.before)],
        )
        reported = self.step(
            "report",
            reverse("api:hazard-list"),
            life.reporter,
            body=body,
            content_type=ctype,
            life=life,
            expect=201,
        )
        life.code = reported["code"]
        code = life.code
        department = reported["department"]["code"]
        others = [u for u in self.actors.members.get(department, []) if u != life.reporter]
        if not others:
            raise StepFailed(f"{life.code}: nobody but the reporter in department {department}")
        life.triager = self.rng.choice(others)
        verifiers = [u for u in others if u != life.triager] or others
        life.verifier = self.rng.choice(verifiers)

        task = reported["open_task"]["id"]
        self.json_step(
            "claim_triage", reverse("api:task-claim", kwargs={"pk": task}), life.triager, {}, life
        )
        self.json_step(
            "triage",
            reverse("api:hazard-triage", kwargs={"code": code}),
            life.triager,
            {"grade": "general", "deadline_on": self.deadline_on, "comment": "确认，限期整改"},
            life,
        )
        body, ctype = multipart(
            [("work_done", "清理通道货物，设置禁停标识"), ("cost", "300")],
            [("after_photos", f"after-{n}.jpg", self.after)],
        )
        rectified = self.step(
            "rectify",
            reverse("api:hazard-rectify", kwargs={"code": code}),
            principal,
            body=body,
            content_type=ctype,
            life=life,
        )
        task = rectified["open_task"]["id"]
        self.json_step(
            "claim_verify", reverse("api:task-claim", kwargs={"pk": task}), life.verifier, {}, life
        )
        self.json_step(
            "verify",
            reverse("api:hazard-verify", kwargs={"code": code}),
            life.verifier,
            {"passed": True, "comment": "复查合格"},
            life,
        )
        life.completed = True


class StepFailed(Exception):
    """A transition answered other than expected; the lifecycle stops."""


def answer_list(value: str) -> list[str]:
    """``--answers`` as a list; an unknown kind stops the run."""
    answers = [a.strip() for a in value.split(",") if a.strip()]
    unknown = sorted(set(answers) - set(ANSWERS))
    if unknown or not answers:
        raise SystemExit(f"--answers takes {' and/or '.join(ANSWERS)}, not {value!r}")
    return answers


def counter(limit: int) -> Callable[[], int | None]:
    """A thread-safe source of the numbers 0 … limit-1, then None."""
    numbers = itertools.count()
    lock = threading.Lock()

    def take() -> int | None:
        with lock:
            n = next(numbers)
        return n if n < limit else None

    return take


def run_threads(targets: Sequence[Callable[[], None]]) -> float:
    """Run each target in its own thread; the wall time in seconds."""
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def warm_up(port: int, count: RequestCount, actors: Actors, clients: int) -> None:
    """A few untimed API reads per client (imports, URL resolver, connections in both workers)."""
    from django.urls import reverse

    users = list(actors.tokens)[:clients]

    def read(user: int) -> None:
        http = Http(port, count)
        headers = {"Authorization": f"Bearer {actors.tokens[user]}", "Accept": "application/json"}
        for name in ("api:task-queue", "api:hazard-list", "api:me"):
            http.send("GET", reverse(name), headers=headers)
        http.close()

    run_threads([partial(read, u) for u in users])


def run_lifecycles(
    *,
    port: int,
    count: RequestCount,
    actors: Actors,
    clients: int,
    lifecycles: int,
    answer: str = "record",
) -> tuple[dict[str, Any], list[Lifecycle]]:
    from django.utils import timezone

    tally = Tally()
    numbers = counter(lifecycles)
    deadline_on = (timezone.localdate() + timedelta(days=20)).isoformat()
    workers = [
        LifecycleClient(
            index=i,
            port=port,
            count=count,
            actors=actors,
            tally=tally,
            numbers=numbers,
            deadline_on=deadline_on,
            answer=answer,
        )
        for i in range(clients)
    ]
    wall = run_threads([w.run for w in workers])
    lives = [life for w in workers for life in w.done]
    completed = sum(1 for life in lives if life.completed)
    result = {
        "answer": answer,
        "clients": clients,
        "started": len(lives),
        "completed": completed,
        "wall_s": round(wall, 2),
        "lifecycles_per_s": round(completed / wall, 2) if wall else 0.0,
        "transitions_per_s": round(sum(len(life.ok) for life in lives) / wall, 1) if wall else 0,
        "transitions": {kind: tally.stats(kind) for kind in KINDS},
        "overall": tally.overall(KINDS),
        "conflicts_409": sum(tally.conflicts.values()),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:20],
    }
    return result, lives


# --- integrity (ORM) ---------------------------------------------------------------------------


def integrity(
    lives: Sequence[Lifecycle], *, since: Any, reporters: Sequence[int]
) -> dict[str, Any]:
    """Compare what the clients were told with what the database holds (see the docstring)."""
    from workflows.hazards.models import Event, Hazard, HazardTask

    by_code = {life.code: life for life in lives if life.code}
    hazards = {
        h.code: h
        for h in Hazard.objects.filter(code__in=list(by_code)).only("code", "process_id", "stage")
    }
    events: dict[str, Counter[str]] = defaultdict(Counter)
    for code, action in Event.objects.filter(hazard__code__in=list(by_code)).values_list(
        "hazard__code", "action"
    ):
        events[code][action] += 1
    tasks: dict[int | None, list[tuple[str, str, int | None]]] = defaultdict(list)
    for process_id, flow_task, status, owner in HazardTask.objects.filter(
        process_id__in=[h.process_id for h in hazards.values()], flow_task_type="HUMAN"
    ).values_list("process_id", "flow_task", "status", "owner_id"):
        tasks[process_id].append((flow_task.name, status, owner))
    lost = duplicated = unexpected = claims_lost = duplicated_tasks = not_closed = missing = 0
    expected_actions = {a for actions in EVENTS_OF.values() for a in actions}
    samples: list[str] = []
    for code, life in by_code.items():
        hazard = hazards.get(code)
        if hazard is None:
            missing += 1
            samples.append(f"{code}: answered 201 but not in the database")
            continue
        ok = Counter(life.ok)
        want: Counter[str] = Counter()
        for kind, actions in EVENTS_OF.items():
            for action in actions:
                want[action] += ok[kind]
        have = events[code]
        for action in expected_actions:
            if have[action] < want[action]:
                lost += want[action] - have[action]
                samples.append(f"{code}: {want[action]} × {action} answered, {have[action]} events")
            elif have[action] > want[action]:
                duplicated += have[action] - want[action]
                samples.append(f"{code}: {have[action]} × {action} events, {want[action]} answered")
        extra = sum(n for action, n in have.items() if action not in expected_actions)
        if extra:
            unexpected += extra
            samples.append(f"{code}: unexpected events {dict(have)}")
        nodes = Counter(node for node, _status, _owner in tasks[hazard.process_id])
        duplicated_tasks += sum(n - 1 for n in nodes.values() if n > 1)
        for kind, node, claimant in (
            ("claim_triage", "triage", life.triager),
            ("claim_verify", "verify", life.verifier),
        ):
            if kind not in ok:
                continue
            done_by = [o for n, s, o in tasks[hazard.process_id] if n == node and s == "DONE"]
            if claimant not in done_by:
                claims_lost += 1
                samples.append(
                    f"{code}: {kind} by user {claimant} answered 200, task done by {done_by}"
                )
        if life.completed and hazard.stage != "closed":
            not_closed += 1
            samples.append(f"{code}: completed but stage {hazard.stage}")
    orphans = (
        Hazard.objects.filter(created_at__gte=since, found_by_id__in=list(reporters))
        .exclude(code__in=list(by_code))
        .count()
    )
    return {
        "hazards": len(by_code),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected_events": unexpected,
        "claims_lost": claims_lost,
        "duplicated_tasks": duplicated_tasks,
        "missing_hazards": missing,
        "orphans": orphans,
        "not_closed": not_closed,
        "samples": samples[:20],
    }


# --- pages -------------------------------------------------------------------------------------


def login(http: Http, username: str, tally: Tally) -> Jar:
    """A session for ``username`` through the login form (CSRF cookie and token, then the POST)."""
    from django.urls import reverse

    url = reverse("login")
    jar = Jar()
    page = http.send("GET", url, jar=jar)
    found = CSRF_FIELD.search(page.body.decode("utf-8", "replace"))
    if page.status != 200 or found is None or jar.get("csrftoken") is None:
        raise StepFailed(f"login page for {username}: {page.status}, cookies {sorted(jar.cookies)}")
    body = urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": found.group(1)}
    ).encode()
    reply = http.send(
        "POST",
        url,
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        jar=jar,
    )
    tally.record("login", reply, success=302)
    if reply.status != 302 or jar.get("sessionid") is None:
        raise StepFailed(f"login of {username}: {reply.status} {reply.brief()}")
    return jar


def run_pages(*, port: int, count: RequestCount, threads: int, requests: int) -> dict[str, Any]:
    """``threads`` browsers, each logged in as every persona, GET the pages round robin."""
    people = personas()
    specs = [(name, url, user.username) for name, url, user in page_specs(people)]
    users = sorted({username for _, _, username in specs})
    tally = Tally()
    numbers = counter(requests)

    def browse() -> None:
        http = Http(port, count)
        try:
            jars = {username: login(http, username, tally) for username in users}
            for _name, url, username in specs:  # warm-up, untimed
                http.send("GET", url, jar=jars[username])
            while (n := numbers()) is not None:
                name, url, username = specs[n % len(specs)]
                reply = http.send("GET", url, jar=jars[username])
                tally.record(name, reply)
                if reply.status != 200:
                    tally.error(f"{name} as {username}: {reply.status} {reply.brief()}")
        except StepFailed as exc:
            tally.error(str(exc))
        finally:
            http.close()

    wall = run_threads([browse] * threads)
    pages = [
        {"name": name, "url": url, "user": username, **tally.stats(name)}
        for name, url, username in specs
    ]
    timed = sum(p["ok"] for p in pages)
    return {
        "users": threads,
        "requests": requests,
        "wall_s": round(wall, 2),
        "pages_per_s": round(timed / wall, 1) if wall else 0.0,
        "pages": pages,
        "login": tally.stats("login"),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:20],
    }


# --- memory ------------------------------------------------------------------------------------


def run_filler(
    *, port: int, count: RequestCount, actors: Actors, clients: int, minimum: int
) -> dict[str, Any]:
    """Authenticated ``GET /api/v1/me`` until ``minimum`` requests were sent in all (every phase)."""
    from django.urls import reverse

    url = reverse("api:me")
    tally = Tally()
    tokens = list(actors.tokens.values())
    lock = threading.Lock()

    def more() -> bool:
        with lock:
            return count.value < minimum

    def hit(index: int) -> None:
        http = Http(port, count)
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}
        while more():
            tally.record("me", http.send("GET", url, headers=headers))
        http.close()

    before = count.value
    wall = run_threads([partial(hit, i) for i in range(clients)])
    stats = tally.stats("me")
    return {"url": url, "sent": count.value - before, "wall_s": round(wall, 2), **stats}


# --- run ---------------------------------------------------------------------------------------


def run(
    *,
    db: str,
    clients: int = 8,
    lifecycles: int = 200,
    page_users: int = 8,
    page_requests: int = 400,
    min_requests: int = 10_000,
    port: int = 8765,
    answers: Sequence[str] = ANSWERS,
) -> dict[str, Any]:
    """Prepare tokens, start gunicorn, run every phase, check the database; the report."""
    # Tokens are HMACs keyed with SECRET_KEY: this process and the server must share it.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    setup_django(db)
    from django.conf import settings
    from django.utils import timezone

    prepared = time.perf_counter()
    actors = pick_actors(lifecycles=lifecycles)
    users = {p for _, _, p in actors.enterprises}
    users |= {u for county_staff in actors.reporters.values() for u in county_staff}
    users |= {u for dept in actors.members.values() for u in dept}
    actors.tokens = issue_tokens(sorted(users))
    report: dict[str, Any] = {
        "at": timezone.now().isoformat(timespec="seconds"),
        "db": db,
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "server": {
            "command": f"gunicorn project.wsgi --workers {WORKERS} --bind 127.0.0.1:{port} "
            "--access-logfile /dev/null",
            "mode": "production (DEBUG=0, SECURE_SSL_REDIRECT=0, plain HTTP on loopback)",
            "broker": "memory://",
        },
        # Other processes on the machine share its cores: the load average frames the figures.
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "actors": {
            "enterprises": len(actors.enterprises),
            "reporters": sum(len(v) for v in actors.reporters.values()),
            "department_members": sum(len(v) for v in actors.members.values()),
            "tokens": len(actors.tokens),
            "industry": actors.industry,
            "prepare_s": round(time.perf_counter() - prepared, 2),
        },
    }
    count = RequestCount()
    since = timezone.now()
    with gunicorn(db=db, port=port, secret_key=settings.SECRET_KEY, count=count) as server:
        snapshots = [server.snapshot("start", count)]
        warm_up(port, count, actors, clients)
        report["lifecycles"], lives = [], []
        for answer in answers:
            result, done = run_lifecycles(
                port=port,
                count=count,
                actors=actors,
                clients=clients,
                lifecycles=lifecycles,
                answer=answer,
            )
            report["lifecycles"].append(result)
            lives += done
        snapshots.append(server.snapshot("after lifecycles", count))
        report["pages"] = run_pages(
            port=port, count=count, threads=page_users, requests=page_requests
        )
        snapshots.append(server.snapshot("after pages", count))
        report["filler"] = run_filler(
            port=port, count=count, actors=actors, clients=clients, minimum=min_requests
        )
        report["total_requests"] = count.value
        snapshots.append(server.snapshot("end", count))
        report["memory"] = {
            "snapshots": snapshots,
            "workers": [
                {"pid": pid, "rss_mb": mb["VmRSS"], "peak_mb": mb["VmHWM"]}
                for pid, mb in ((pid, memory(pid)) for pid in server.workers())
                if "VmRSS" in mb and "VmHWM" in mb
            ],
            "master_mb": memory(server.process.pid).get("VmRSS"),
        }
        report["server_errors"] = server.error_lines()
    report["integrity"] = integrity(
        lives,
        since=since,
        reporters=sorted({u for county_staff in actors.reporters.values() for u in county_staff}),
    )
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["violations"] = violations(report)
    return report


def violations(report: dict[str, Any]) -> list[str]:
    """Every broken expectation of a run, as one sentence each."""
    problems = []
    for lc in report["lifecycles"]:
        if lc["completed"] != lc["started"]:
            problems.append(
                f"{lc['started'] - lc['completed']} of {lc['started']} lifecycles "
                f"({lc['answer']} answers) failed"
            )
    checks = report["integrity"]
    for key in (
        "lost",
        "duplicated",
        "unexpected_events",
        "claims_lost",
        "duplicated_tasks",
        "missing_hazards",
        "orphans",
        "not_closed",
    ):
        if checks[key]:
            problems.append(f"integrity: {key} = {checks[key]}")
    for page in report["pages"]["pages"]:
        bad = {s: n for s, n in page["statuses"].items() if s != "200"}
        if bad or not page["ok"]:
            problems.append(f"page {page['name']}: statuses {page['statuses']}")
    if report["pages"]["errors"]:
        problems.append(f"pages: {report['pages']['errors']} errors")
    return problems


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def summary(report: dict[str, Any]) -> str:
    """The Markdown tables printed at the end of a run."""
    lc = report["lifecycles"]
    lines = [
        f"## SafeChain load — {report['at']} — {report['machine']}",
        "",
        f"Server: `{report['server']['command']}` — {report['server']['mode']}. "
        f"Database `{report['db']}`. Load average (1/5/15 min) at start "
        f"{report['load_average_start']}, at end {report['load_average_end']}.",
        "",
    ]
    for lc in report["lifecycles"]:
        lines += lifecycle_table(lc)
    checks = report["integrity"]
    lines += [
        "",
        f"**Integrity** over {checks['hazards']} hazards: lost {checks['lost']}, duplicated "
        f"{checks['duplicated']}, unexpected events {checks['unexpected_events']}, claims lost "
        f"{checks['claims_lost']}, duplicated tasks {checks['duplicated_tasks']}, missing "
        f"{checks['missing_hazards']}, orphans {checks['orphans']}, not closed "
        f"{checks['not_closed']}.",
    ]
    pages = report["pages"]
    lines += [
        "",
        f"**Pages**: {pages['users']} concurrent users, {pages['requests']} requests in "
        f"{pages['wall_s']} s ({pages['pages_per_s']} pages/s).",
        "",
        "Client = wall time at the client (includes the wait for a free worker); server = the "
        "app's own time (`Server-Timing`).",
        "",
        "| Page | User | n | client p50 ms | client p95 ms | server p50 ms | server p95 ms "
        "| max ms | Statuses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in [*pages["pages"], {"name": "login (POST)", "user": "each persona", **pages["login"]}]:
        statuses = ", ".join(f"{s}×{n}" for s, n in p["statuses"].items()) or "—"
        lines.append(
            f"| {p['name']} | {p['user']} | {p['ok']} | {_ms(p['p50_ms'])} | {_ms(p['p95_ms'])} "
            f"| {_ms(p.get('server_p50_ms'))} | {_ms(p.get('server_p95_ms'))} "
            f"| {_ms(p['max_ms'])} | {statuses} |"
        )
    filler = report["filler"]
    mem = report["memory"]
    lines += [
        "",
        f"**Filler** `GET {filler['url']}`: {filler['sent']} requests in {filler['wall_s']} s, "
        f"p50 {_ms(filler['p50_ms'])} ms, p95 {_ms(filler['p95_ms'])} ms. "
        f"**Total requests served: {report['total_requests']:,}.**",
        "",
    ]
    pids = [str(w["pid"]) for w in mem["workers"]]
    lines += [
        "| Worker RSS MB | " + " | ".join(f"pid {pid}" for pid in pids) + " | requests so far |",
        "|---|" + "---|" * (len(pids) + 1),
    ]
    for snap in mem["snapshots"]:
        cells = " | ".join(_ms(snap["rss_mb"].get(pid)) for pid in pids)
        lines.append(f"| {snap['at']} | {cells} | {snap['requests']:,} |")
    peaks = " | ".join(_ms(w["peak_mb"]) for w in mem["workers"])
    lines.append(f"| peak (VmHWM) | {peaks} | |")
    lines.append(f"\nMaster RSS {_ms(mem['master_mb'])} MB.")
    if report["server_errors"]:
        lines += ["", "Server errors:", *(f"    {line}" for line in report["server_errors"])]
    for lc in report["lifecycles"]:
        if lc["error_samples"]:
            lines += ["", f"Lifecycle errors ({lc['answer']}):"]
            lines += [f"- {e}" for e in lc["error_samples"]]
    if checks["samples"]:
        lines += ["", "Integrity findings:", *(f"- {s}" for s in checks["samples"])]
    if pages["error_samples"]:
        lines += ["", "Page errors:", *(f"- {e}" for e in pages["error_samples"])]
    return "\n".join(lines)


def lifecycle_table(lc: dict[str, Any]) -> list[str]:
    """The lines of one lifecycle phase: its rate and a row per transition."""
    answer = LIFECYCLE_ANSWERS.get(lc["answer"], lc["answer"])
    lines = [
        f"**Lifecycles, {answer}**: {lc['completed']} of {lc['started']} completed by "
        f"{lc['clients']} clients in {lc['wall_s']} s → **{lc['lifecycles_per_s']} lifecycles/s** "
        f"({lc['transitions_per_s']} transitions/s); 409 conflicts {lc['conflicts_409']}, "
        f"errors {lc['errors']}.",
        "",
        "| Transition | 2xx | p50 ms | p95 ms | server p50 ms | server p95 ms | max ms | 409 "
        "| Statuses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, t in [*lc["transitions"].items(), ("all", {**lc["overall"], "statuses": {}})]:
        statuses = ", ".join(f"{s}×{n}" for s, n in t["statuses"].items()) or "—"
        lines.append(
            f"| {kind} | {t['ok']} | {_ms(t['p50_ms'])} | {_ms(t['p95_ms'])} "
            f"| {_ms(t.get('server_p50_ms'))} | {_ms(t.get('server_p95_ms'))} "
            f"| {_ms(t.get('max_ms'))} | {t['conflicts_409']} | {statuses} |"
        )
    return [*lines, ""]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run, write the JSON, print the summary; 1 when something broke."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", default="safechain_bench")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--page-users", type=int, default=8)
    parser.add_argument("--page-requests", type=int, default=400)
    parser.add_argument("--min-requests", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--answers",
        default=",".join(ANSWERS),
        help="lifecycle phases, in order: record (the whole record after each step) and/or "
        "minimal (Prefer: return=minimal)",
    )
    args = parser.parse_args(argv)
    report = run(
        db=args.db,
        clients=args.clients,
        lifecycles=args.lifecycles,
        page_users=args.page_users,
        page_requests=args.page_requests,
        min_requests=args.min_requests,
        port=args.port,
        answers=answer_list(args.answers),
    )
    path = write(report, prefix="load-")
    print(summary(report))  # noqa: T201
    print(f"\nresults: {path}")  # noqa: T201
    if report["violations"]:
        print("\nFAILED:\n- " + "\n- ".join(report["violations"]))  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
