"""Seed a city-scale dataset into a database of its own, fast (COPY, not the ORM).

    .venv/bin/python -m bench.seed [--db safechain_bench] [--hazards 1000000] [--enterprises 50000]

Drops and recreates ``--db`` on the server of ``DATABASE_URL``, migrates it, then COPYs: one city
with 17 counties and ~300 (fictional) townships, ~100 line departments plus a government per
township, ``--users`` people (every department has a head and staff, committee offices a committee
member, the rest are enterprise principals), ``--enterprises`` enterprises with valid USCCs, and
``--hazards`` hazards (``--open-share`` of them open, spread over every open stage, a third of those
overdue) with their viewflow process, tasks and deadline rows: the open clock of an open hazard and
the closed clocks of the stages every hazard has already left, so open rows are the small share of
the table they are in a city that has run for years. Every open deadline's next action is in the
future, so a sweep right after seeding finds nothing due. Prints the time of every step.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from bench import database_url, setup_django

CITY = ("141000", "临汾市")
COUNTIES = (
    ("141002", "尧都区"),
    ("141021", "曲沃县"),
    ("141022", "翼城县"),
    ("141023", "襄汾县"),
    ("141024", "洪洞县"),
    ("141025", "古县"),
    ("141026", "安泽县"),
    ("141027", "浮山县"),
    ("141028", "吉县"),
    ("141029", "乡宁县"),
    ("141030", "大宁县"),
    ("141031", "隰县"),
    ("141032", "永和县"),
    ("141033", "蒲县"),
    ("141034", "汾西县"),
    ("141081", "侯马市"),
    ("141082", "霍州市"),
)
TOWNSHIPS_PER_COUNTY = 18
COUNTY_KINDS = ("committee_office", "emergency", "energy", "market", "housing")
FLOW = "hazards/flows.HazardFlow"
# Open hazard stage → (share of open hazards, flow node, grade forced or None).
OPEN_STAGES: dict[str, tuple[float, str, str | None]] = {
    "triage": (0.15, "triage", None),
    "plan": (0.04, "plan", "major"),
    "plan_approval": (0.03, "approve_plan", "major"),
    "rectify": (0.50, "rectify", None),
    "verify": (0.21, "verify", None),
    "close_out": (0.07, "close_out", "major"),
}
OVERDUE_SHARE = 0.33
# The clocks a hazard in each stage has already closed (general path; plans count as rectifying).
STAGES_LEFT: dict[str, tuple[str, ...]] = {
    "plan": ("triage",),
    "plan_approval": ("triage",),
    "rectify": ("triage",),
    "verify": ("triage", "rectify"),
    "close_out": ("triage", "rectify", "verify"),
    "closed": ("triage", "rectify", "verify"),
    "withdrawn": ("triage",),
}
ASSIGNED_SHARE = 0.3  # of open department tasks, claimed by a staff member (inboxes)
BATCH_LOG = 250_000


class Timer:
    """Prints and keeps how long each step took."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.start = time.perf_counter()

    def step(self, name: str, started: float, rows: int | None = None) -> None:
        took = time.perf_counter() - started
        self.steps[name] = round(took, 3)
        rate = f" ({rows / took:,.0f} rows/s)" if rows and took > 0 else ""
        count = f"{rows:,} rows " if rows is not None else ""
        print(f"  {name:<28} {count}{took:8.2f} s{rate}", flush=True)  # noqa: T201

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def recreate_database(name: str) -> None:
    """Drop (forcing out other sessions) and create the bench database on the same server."""
    admin_url = database_url(name).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def copy_rows(
    cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY ``rows`` into ``table`` (text format; psycopg adapts each value). Returns the count."""
    n = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def reset_sequences(cursor: Any, tables: Iterable[str]) -> None:
    """Move each table's id sequence past the ids COPY wrote explicitly."""
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def uscc(n: int) -> str:
    from accounts.uscc import uscc_check_character

    first17 = f"91141000{n:09d}"
    return first17 + uscc_check_character(first17)


class Seeder:
    """Generates the rows in memory-light streams and COPYs them table by table."""

    def __init__(self, *, hazards: int, enterprises: int, users: int, open_share: float) -> None:
        self.n_hazards = hazards
        self.n_enterprises = enterprises
        self.n_users = users
        self.open_share = open_share
        self.rng = random.Random(7)  # noqa: S311 - reproducible fake data
        from django.utils import timezone

        self.now = timezone.now()
        self.counts: dict[str, int] = {}

    # --- organisations -----------------------------------------------------------------------

    def regions(self, cur: Any) -> None:
        rows: list[tuple[Any, ...]] = [(1, CITY[0], CITY[1], "city", None, False)]
        self.county_ids: list[int] = []
        self.townships: dict[int, list[int]] = {}
        rid = 1
        for code, name in COUNTIES:
            rid += 1
            county = rid
            self.county_ids.append(county)
            rows.append((county, code, name, "county", 1, False))
            self.townships[county] = []
            for t in range(TOWNSHIPS_PER_COUNTY):
                rid += 1
                rows.append(
                    (rid, f"{code}{101 + t:03d}", f"{name}第{t + 1}镇", "township", county, True)
                )
                self.townships[county].append(rid)
        self.township_county = {t: c for c, ts in self.townships.items() for t in ts}
        cols = ("id", "code", "name", "level", "parent_id", "fictional")
        self.counts["regions"] = copy_rows(cur, "accounts_region", cols, rows)
        self.region_code = {r[0]: r[1] for r in rows}

    def departments(self, cur: Any) -> None:
        cur.execute("SELECT code, id FROM accounts_departmentkind")
        kinds = dict(cur.fetchall())
        rows: list[tuple[Any, ...]] = []
        self.county_depts: dict[int, list[int]] = {}
        self.committee_of: dict[int, int] = {}
        self.township_gov: dict[int, int] = {}
        did = 0

        def add(region: int, kind: str, name: str) -> int:
            nonlocal did
            did += 1
            rows.append((did, f"{self.region_code[region]}-{kind}", name, kinds[kind], region))
            return did

        for kind in kinds:
            if kind != "township_gov":
                dept = add(1, kind, f"临汾市{kind}")
                if kind == "committee_office":
                    self.committee_of[1] = dept
        for county in self.county_ids:
            self.county_depts[county] = []
            for kind in COUNTY_KINDS:
                dept = add(county, kind, f"{county}-{kind}")
                if kind == "committee_office":
                    self.committee_of[county] = dept
                else:
                    self.county_depts[county].append(dept)
        self.line_departments = did
        for township in self.township_county:
            self.township_gov[township] = add(township, "township_gov", f"{township}镇人民政府")
        cols = ("id", "code", "name", "kind_id", "region_id")
        self.counts["departments"] = copy_rows(cur, "accounts_department", cols, rows)
        self.department_ids = [r[0] for r in rows]

    def users(self, cur: Any) -> None:
        from django.contrib.auth.hashers import make_password

        password = make_password("Anlian-2026")
        flags = (False, True, False, self.now - timedelta(days=400))
        self.counts["users"] = copy_rows(
            cur,
            "accounts_user",
            (
                "id",
                "password",
                "username",
                "full_name",
                "mobile",
                "email",
                "is_staff",
                "is_active",
                "is_superuser",
                "date_joined",
            ),
            (
                (u, password, f"u{u:05d}", f"用户{u}", f"139{u:08d}", f"u{u}@b.invalid", *flags)
                for u in range(1, self.n_users + 1)
            ),
        )

    def memberships(self, cur: Any) -> None:
        """Head + two staff per department (+ a committee member per committee office); every
        remaining user is the principal of one enterprise (enterprise 1, 2, … in order)."""
        rows: list[tuple[Any, ...]] = []
        self.staff_of: dict[int, list[int]] = {}
        uid = 0
        for dept in self.department_ids:
            roles = ["head", "staff", "staff"]
            if dept in self.committee_of.values():
                roles.append("committee")
            for role in roles:
                uid += 1
                rows.append((uid, dept, None, role))
                if role == "staff":
                    self.staff_of.setdefault(dept, []).append(uid)
        if uid >= self.n_users:
            raise SystemExit(f"--users must exceed {uid} (department people)")
        self.principal_of: dict[int, int] = {}
        for enterprise, user in enumerate(range(uid + 1, self.n_users + 1), start=1):
            if enterprise > self.n_enterprises:
                break
            self.principal_of[enterprise] = user
            rows.append((user, None, enterprise, "principal"))
        cols = ("user_id", "department_id", "enterprise_id", "role")
        self.counts["memberships"] = copy_rows(cur, "accounts_membership", cols, rows)

    def enterprises(self, cur: Any) -> None:
        townships = list(self.township_county)
        self.enterprise_township = {
            e: self.rng.choice(townships) for e in range(1, self.n_enterprises + 1)
        }
        cols = ("id", "uscc", "name", "region_id", "address", "principal_id", "status")
        self.counts["enterprises"] = copy_rows(
            cur,
            "accounts_enterprise",
            cols,
            (
                (e, uscc(e), f"临汾某{e}有限公司", t, f"{t}镇{e}号", None, "active")
                for e, t in self.enterprise_township.items()
            ),
        )

    def principals(self, cur: Any) -> None:
        """Set ``Enterprise.principal`` after the users exist (one UPDATE from a VALUES list)."""
        pairs = list(self.principal_of.items())
        cur.execute("CREATE TEMP TABLE bench_principal (e bigint, u bigint)")
        copy_rows(cur, "bench_principal", ("e", "u"), pairs)
        cur.execute(
            "UPDATE accounts_enterprise SET principal_id = p.u FROM bench_principal p "
            "WHERE accounts_enterprise.id = p.e"
        )

    # --- hazards -----------------------------------------------------------------------------

    def _industries(self, cur: Any) -> list[int]:
        cur.execute(
            "SELECT id FROM responsibility_industry i WHERE NOT EXISTS "
            "(SELECT 1 FROM responsibility_industry c WHERE c.parent_id = i.id)"
        )
        return [r[0] for r in cur.fetchall()]

    def _policies(self, cur: Any) -> dict[tuple[str, str], int]:
        cur.execute(
            "SELECT DISTINCT ON (grade, stage) grade, stage, id FROM deadlines_deadlinepolicy "
            "ORDER BY grade, stage, effective_from DESC"
        )
        return {(g, s): i for g, s, i in cur.fetchall()}

    def plan_hazards(self, cur: Any) -> None:
        """Decide every hazard's shape once (stage, grade, enterprise, department, dates): the
        COPY streams below read these compact lists instead of recomputing."""
        rng = self.rng
        n = self.n_hazards
        industries = self._industries(cur)
        self.policy = self._policies(cur)
        stages = list(OPEN_STAGES)
        weights = [OPEN_STAGES[s][0] for s in stages]
        span = 6 * 365 * 86400
        found = sorted(self.now.timestamp() - rng.random() * span for _ in range(n))
        self.h: list[tuple[Any, ...]] = []
        seq_by_year: dict[int, int] = {}
        for i in range(n):
            found_at = datetime.fromtimestamp(found[i], UTC)
            # Recent hazards are the open ones: open share drawn among the newest 3x of it.
            recent = i >= n - int(n * self.open_share * 3)
            is_open = recent and rng.random() < 1 / 3
            if is_open:
                stage = rng.choices(stages, weights)[0]
                grade = OPEN_STAGES[stage][2] or ("major" if rng.random() < 0.03 else "general")
            else:
                stage = "withdrawn" if rng.random() < 0.02 else "closed"
                grade = "major" if rng.random() < 0.03 else "general"
            # Skewed: low enterprise ids (which have principals) report far more hazards.
            enterprise = 1 + int(self.n_enterprises * rng.random() ** 3)
            township = self.enterprise_township[enterprise]
            county = self.township_county[township]
            department = rng.choice(self.county_depts[county])
            year = found_at.year
            seq_by_year[year] = seq_by_year.get(year, 0) + 1
            self.h.append(
                (
                    i + 1,
                    found_at,
                    year,
                    seq_by_year[year],
                    stage,
                    grade,
                    enterprise,
                    township,
                    county,
                    department,
                    rng.choice(industries),
                )
            )
        self.seq_by_year = seq_by_year
        self.counts["open_hazards"] = sum(1 for r in self.h if r[4] in OPEN_STAGES)

    def hazard_rows(self) -> Iterator[tuple[Any, ...]]:
        chain_cache: dict[tuple[int, int], str] = {}
        for hid, found_at, year, seq, stage, grade, ent, town, county, dept, ind in self.h:
            chain = chain_cache.get((ent, dept))
            if chain is None:
                chain = json.dumps(
                    {
                        "grade": grade,
                        "links": [
                            {"role": "lead", "org_code": str(dept), "person": None},
                            {
                                "role": "territorial",
                                "org_code": f"{self.region_code[town]}-township_gov",
                                "person": None,
                            },
                        ],
                    },
                    ensure_ascii=False,
                )
                chain_cache[(ent, dept)] = chain
            deadline_on = (found_at + timedelta(days=15)).date() if stage != "triage" else None
            closed_at = found_at + timedelta(days=20) if stage == "closed" else None
            withdrawn_at = found_at + timedelta(days=2) if stage == "withdrawn" else None
            yield (
                hid,
                f"141000-{year}-{seq:07d}",
                1,
                county,
                year,
                seq,
                hid,
                ent,
                ind,
                f"隐患{hid}：消防通道堵塞",
                "基准测试数据",
                f"{ent}号厂区",
                found_at,
                "",
                "routine",
                grade,
                chain,
                dept,
                stage,
                deadline_on,
                0,
                False,
                "",
                "",
                closed_at,
                withdrawn_at,
                "" if stage != "withdrawn" else "重复登记",
                found_at,
                closed_at or withdrawn_at or found_at,
            )

    HAZARD_COLS = (
        "id",
        "code",
        "city_id",
        "county_id",
        "year",
        "sequence",
        "process_id",
        "enterprise_id",
        "industry_id",
        "title",
        "description",
        "location",
        "found_at",
        "finder_name",
        "source",
        "grade",
        "chain",
        "department_id",
        "stage",
        "deadline_on",
        "verify_attempts",
        "suspended",
        "suspension_scope",
        "listed_level",
        "closed_at",
        "withdrawn_at",
        "withdrawal_reason",
        "created_at",
        "updated_at",
    )

    def process_rows(self) -> Iterator[tuple[Any, ...]]:
        for hid, found_at, _y, _s, stage, *_rest in self.h:
            if stage in OPEN_STAGES:
                status, finished = "NEW", None
            elif stage == "closed":
                status, finished = "DONE", found_at + timedelta(days=20)
            else:
                status, finished = "CANCELED", found_at + timedelta(days=2)
            yield (hid, status, found_at, finished, FLOW, "{}")

    def task_stream(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        for hid, found_at, _y, _s, stage, _g, ent, _t, _c, dept, _i in self.h:
            yield (
                2 * hid - 1,
                f"{FLOW}.report",
                "START",
                "DONE",
                found_at,
                found_at,
                found_at,
                None,
                "start",
                None,
                hid,
                "{}",
                None,
            )
            if stage not in OPEN_STAGES:
                end = found_at + timedelta(days=20)
                status = "DONE" if stage == "closed" else "CANCELED"
                yield (2 * hid, f"{FLOW}.end", "END", status, end, end, end)
                continue
            node = OPEN_STAGES[stage][1]
            owner = assigned = None
            status = "NEW"
            if node in ("triage", "approve_plan", "verify"):
                permission = f"hazards.dept_{dept}"
                if rng.random() < ASSIGNED_SHARE:
                    owner, status, assigned = rng.choice(self.staff_of[dept]), "ASSIGNED", found_at
            elif node == "close_out":
                permission = f"hazards.closeout_{dept}"
            elif node == "plan":
                permission = f"hazards.principal_{ent}"
                owner = self.principal_of.get(ent)
                status, assigned = ("ASSIGNED", found_at) if owner else ("NEW", None)
            else:
                permission = f"hazards.ent_{ent}"
            yield (
                2 * hid,
                f"{FLOW}.{node}",
                "HUMAN",
                status,
                found_at,
                None,
                None,
                None,
                "start",
                owner,
                hid,
                "{}",
                permission,
                assigned,
            )

    def deadline_rows(self) -> Iterator[tuple[Any, ...]]:
        """One open clock per open hazard (id = the hazard's id): a third overdue (ladder step 2),
        every next action in the next ten days, so nothing is due until ``measure`` says so; then
        the closed clocks of the stages each hazard has left (ids above every hazard id)."""
        rng = self.rng
        for hid, found_at, _y, _s, stage, grade, *_rest in self.h:
            if stage not in OPEN_STAGES:
                continue
            overdue = rng.random() < OVERDUE_SHARE
            due = (
                self.now - timedelta(days=1 + rng.random() * 30)
                if overdue
                else self.now + timedelta(days=1 + rng.random() * 30)
            )
            next_action = self.now + timedelta(hours=1 + rng.random() * 240)
            yield (
                hid,
                "hazards.hazard",
                hid,
                stage,
                grade,
                self.policy[(grade, stage)],
                1,
                due,
                next_action,
                2 if overdue else 0,
                True,
                min(found_at, due - timedelta(days=1)),
                None,
                "",
            )

    def closed_deadline_rows(self) -> Iterator[tuple[Any, ...]]:
        """The history: a closed clock for every stage a hazard has already left (triage, then
        rectification and verification of the general path), each met five days after it opened."""
        ids = iter(range(len(self.h) + 1, 10 * (len(self.h) + 1)))
        for hid, found_at, _y, _s, stage, grade, *_rest in self.h:
            for n, left in enumerate(STAGES_LEFT.get(stage, ())):
                policy = self.policy.get((grade, left))
                if policy is None:
                    continue
                opened = found_at + timedelta(days=6 * n)
                closed = opened + timedelta(days=5)
                yield (
                    next(ids),
                    "hazards.hazard",
                    hid,
                    left,
                    grade,
                    policy,
                    1,
                    opened + timedelta(days=10),
                    None,
                    0,
                    False,
                    opened,
                    closed,
                    f"left {left}",
                )

    def chain_rows(self) -> Iterator[tuple[int, int]]:
        for hid, _f, _y, _s, _st, _g, _e, town, county, dept, _i in self.h:
            yield (hid, dept)
            yield (hid, self.township_gov[town])
            yield (hid, self.committee_of[county])

    def load_hazards(self, cur: Any, timer: Timer) -> None:
        started = time.perf_counter()
        n = copy_rows(
            cur,
            "viewflow_process",
            ("id", "status", "created", "finished", "flow_class", "data"),
            self.process_rows(),
        )
        timer.step("viewflow_process", started, n)
        started = time.perf_counter()
        task_cols = (
            "id",
            "flow_task",
            "flow_task_type",
            "status",
            "created",
            "started",
            "finished",
            "scheduled",
            "token",
            "owner_id",
            "process_id",
            "data",
            "owner_permission",
            "assigned",
        )
        n = copy_rows(cur, "viewflow_task", task_cols, self._full_tasks())
        timer.step("viewflow_task", started, n)
        started = time.perf_counter()
        n = copy_rows(cur, "hazards_hazard", self.HAZARD_COLS, self.hazard_rows())
        timer.step("hazards_hazard", started, n)
        started = time.perf_counter()
        n = copy_rows(
            cur,
            "hazards_hazard_departments",
            ("hazard_id", "department_id"),
            self.chain_rows(),
        )
        timer.step("hazards_hazard_departments", started, n)
        started = time.perf_counter()
        deadline_cols = (
            "id",
            "subject_type",
            "subject_id",
            "stage",
            "grade",
            "policy_id",
            "generation",
            "due_at",
            "next_action_at",
            "step",
            "open",
            "opened_at",
            "closed_at",
            "close_reason",
        )
        n = copy_rows(cur, "deadlines_deadline", deadline_cols, self.deadline_rows())
        self.counts["deadlines"] = n
        timer.step("deadlines_deadline (open)", started, n)
        started = time.perf_counter()
        n = copy_rows(cur, "deadlines_deadline", deadline_cols, self.closed_deadline_rows())
        self.counts["closed_deadlines"] = n
        timer.step("deadlines_deadline (closed)", started, n)
        cur.execute(
            "INSERT INTO hazards_hazardsequence (city_id, year, last) "
            "SELECT 1, y, l FROM unnest(%s::int[], %s::int[]) AS t(y, l)",
            (list(self.seq_by_year), list(self.seq_by_year.values())),
        )

    def _full_tasks(self) -> Iterator[tuple[Any, ...]]:
        """Pads the start/end rows of ``task_stream`` to the full column list."""
        for row in self.task_stream():
            if len(row) == 7:  # end task: id, flow_task, type, status, created, started, finished
                yield (*row, None, "start", None, (row[0]) // 2, "{}", None, None)
            elif len(row) == 13:  # start task
                yield (*row, None)
            else:
                yield row


def seed(
    *, db: str, hazards: int, enterprises: int, users: int, open_share: float
) -> dict[str, Any]:
    """Create, migrate and fill ``db``; returns the counts and the timings of every step."""
    timer = Timer()
    started = time.perf_counter()
    recreate_database(db)
    setup_django(db)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    timer.step("create + migrate", started)
    seeder = Seeder(hazards=hazards, enterprises=enterprises, users=users, open_share=open_share)
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cur:
        for name, fn in (
            ("regions", seeder.regions),
            ("departments", seeder.departments),
            ("users", seeder.users),
            ("enterprises", seeder.enterprises),
            ("memberships", seeder.memberships),
            ("principals", seeder.principals),
        ):
            started = time.perf_counter()
            fn(cur)
            timer.step(name, started, seeder.counts.get(name))
        started = time.perf_counter()
        seeder.plan_hazards(cur)
        timer.step("plan hazards (python)", started, hazards)
        seeder.load_hazards(cur, timer)
        started = time.perf_counter()
        reset_sequences(
            cur,
            (
                "accounts_region",
                "accounts_department",
                "accounts_user",
                "accounts_enterprise",
                "accounts_membership",
                "viewflow_process",
                "viewflow_task",
                "hazards_hazard",
                "hazards_hazard_departments",
                "deadlines_deadline",
            ),
        )
        raw.commit()
        timer.step("commit + sequences", started)
    started = time.perf_counter()
    with psycopg.connect(database_url(db), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    timer.step("vacuum analyze", started)
    counts = {**seeder.counts, "hazards": hazards}
    print(f"  {'total':<28} {timer.total:8.2f} s")  # noqa: T201
    return {"db": db, "counts": counts, "timings": timer.steps, "total_s": timer.total}


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db`` and the dataset's sizes, shared by ``bench.seed`` and ``bench.run``."""
    parser.add_argument("--db", default="safechain_bench")
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--enterprises", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=5_000)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: parse the sizes, seed, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_size_arguments(parser)
    parser.add_argument("--open-share", type=float, default=0.10)
    args = parser.parse_args(argv)
    print(  # noqa: T201
        f"seeding {args.db}: {args.hazards:,} hazards, {args.enterprises:,} enterprises, "
        f"{args.users:,} users ({date.today().isoformat()})"  # noqa: DTZ011
    )
    return seed(
        db=args.db,
        hazards=args.hazards,
        enterprises=args.enterprises,
        users=args.users,
        open_share=args.open_share,
    )


if __name__ == "__main__":
    main()
