"""The state of one import run and the cell-reading helpers its checks share.

Existing rows are fetched in bulk into dicts (``prefetch``): the number of queries grows with the
number of *batches*, never with the number of rows. Planned foreign keys are written as ("table",
natural key) and resolved at write time, when the rows they name exist.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import models

from accounts.models import Department, DepartmentKind, Enterprise, Membership, Region, User
from accounts.uscc import normalize_uscc

from ..models import Duty, EnterpriseIndustry, Industry, Post
from .reading import Row, Sheet, cell_text
from .result import ImportErrorItem, error_item
from .spec import DATE_FORMATS, SHEET_ORDER

M = TypeVar("M", bound=models.Model)
CHUNK = 900  # keys per IN (...) query: below SQLite's historical 999-variable limit


def fetch_in(queryset: models.QuerySet[M], field_name: str, values: Iterable[Any]) -> list[M]:
    """The rows whose ``field_name`` is one of ``values``, asking for CHUNK keys per query."""
    keys = sorted(set(values))
    found: list[M] = []
    for start in range(0, len(keys), CHUNK):
        found.extend(queryset.filter(**{f"{field_name}__in": keys[start : start + CHUNK]}))
    return found


@dataclass
class Update:
    """An existing row and the field values the workbook gives it."""

    instance: models.Model
    values: dict[str, Any]


class ImportPlan:
    """One import run: checked sheet by sheet by ``checks.ImportCheck``, then (if clean and not a
    dry run) written by ``writing.write``.

    Planned foreign keys are written as ("table", natural key) and resolved at write time, when
    the rows they name exist; the tables (``regions``, ``kinds`` …) merge the database rows with
    the workbook's new ones.
    """

    def __init__(self, sheets: dict[str, Sheet], *, user: User | None) -> None:
        self.sheets = sheets
        self.user = user
        self.errors: list[ImportErrorItem] = []
        self.counts = {
            key: {"created": 0, "updated": 0, "unchanged": 0}
            for key in SHEET_ORDER
            if key in sheets
        }
        self.new: dict[str, list[Any]] = {key: [] for key in SHEET_ORDER}
        self.updates: dict[str, list[Update]] = {key: [] for key in SHEET_ORDER}
        self.region_parent: dict[str, str | None] = {}
        self.region_level: dict[str, str] = {}
        self.industry_parent: dict[str, str | None] = {}
        self.post_parent: dict[tuple[str, str], tuple[str, str] | None] = {}
        self.new_links: dict[str, list[str]] = {}  # USCC -> industry codes (new or replaced lists)
        self.replaced_links: list[int] = []  # existing enterprises whose list is replaced
        self.new_memberships: list[tuple[str, str, str, str]] = []  # username, kind, org, role

    # --- helpers -------------------------------------------------------------------------

    def fail(
        self,
        sheet: str,
        row: Row,
        column: str,
        code: str,
        text: str | None = None,
        /,
        **params: Any,
    ) -> None:
        """Report an error; ``params`` fill the message's placeholders."""
        self.errors.append(error_item(sheet, row.number, column, code, text, **params))

    def count(self, sheet: str, outcome: str) -> None:
        self.counts[sheet][outcome] += 1

    def cell(self, sheet: Sheet, row: Row, key: str) -> str:
        """The text of a cell; reports a missing required value or a too long one."""
        column = sheet.spec.column(key)
        value = cell_text(row.values.get(key))
        if not value and column.required and key in sheet.present:  # a missing column: once
            self.fail(sheet.spec.key, row, key, "required")
        elif column.max_length and len(value) > column.max_length:
            self.fail(sheet.spec.key, row, key, "too_long", n=column.max_length, length=len(value))
        return value

    def choice(self, sheet: Sheet, row: Row, key: str) -> str:
        """The canonical value of a choice cell (English key or one of its Chinese spellings)."""
        raw = self.cell(sheet, row, key)
        choices = sheet.spec.column(key).choices or {}
        if not raw:
            return ""
        for canonical, aliases in choices.items():
            if raw.lower() == canonical or raw in aliases:
                return canonical
        listed = ", ".join(f"{k}（{a[0]}）" for k, a in choices.items())
        self.fail(sheet.spec.key, row, key, "bad_value", value=raw, choices=listed)
        return ""

    def day(self, sheet: Sheet, row: Row, key: str) -> date | None:
        raw = row.values.get(key)
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = self.cell(sheet, row, key)
        for fmt in DATE_FORMATS if text else ():
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 — a calendar day
            except ValueError:
                continue
        if text:
            self.fail(sheet.spec.key, row, key, "bad_date", value=text)
        return None

    def unique(self, sheet: Sheet, row: Row, column: str, key: Hashable, seen: dict) -> bool:
        """False (and an error) when ``key`` was already on an earlier row of the sheet."""
        if key in seen:
            self.fail(sheet.spec.key, row, column, "duplicate", row=seen[key])
            return False
        seen[key] = row.number
        return True

    def known(
        self, sheet: Sheet, row: Row, column: str, code: str, value: str, table: dict
    ) -> bool:
        """True when ``value`` names a row of ``table``; reports ``code`` when it does not."""
        if value and value not in table:
            self.fail(sheet.spec.key, row, column, code, code=value)
        return bool(value) and value in table

    def diff(self, instance: models.Model, values: dict[str, Any]) -> dict[str, Any]:
        """The planned values that differ from ``instance``. A reference ("table", key) compares
        by primary key without loading the related row; a reference to a row that does not exist
        yet (new in this workbook) is always a change."""
        changed: dict[str, Any] = {}
        for name, value in values.items():
            if isinstance(value, tuple):
                table, key = value
                target = getattr(self, table).get(key) if key else None
                current = getattr(instance, f"{name}_id")
                if key and (target is None or target.pk is None):
                    same = False
                else:
                    same = (target.pk if target is not None else None) == current
            else:
                same = getattr(instance, name) == value
            if not same:
                changed[name] = value
        return changed

    def outcome(
        self, sheet: str, instance: Any, values: dict[str, Any], *, also_changed: bool = False
    ) -> None:
        """Record an update (of only the fields that differ) or an unchanged row."""
        changed = self.diff(instance, values)
        if changed:
            self.updates[sheet].append(Update(instance, changed))
        self.count(sheet, "updated" if changed or also_changed else "unchanged")

    def cycle(self, sheet: str, row: Row, column: str, path: list[Any]) -> None:
        names = [p[1] if isinstance(p, tuple) else p for p in path]
        self.fail(sheet, row, column, "cycle", code=names[0], path=" → ".join(names))

    # --- prefetch ------------------------------------------------------------------------

    def prefetch(self) -> None:
        """Every existing row the workbook could touch, in a fixed number of bulk queries."""
        self.regions: dict[str, Region] = {r.code: r for r in Region.objects.all()}
        region_code = {r.pk: r.code for r in self.regions.values()}
        for region in self.regions.values():
            self.region_parent[region.code] = region_code.get(region.parent_id or 0)
            self.region_level[region.code] = region.level
        self.kinds: dict[str, DepartmentKind] = {k.code: k for k in DepartmentKind.objects.all()}
        self.departments: dict[str, Department] = {
            d.code: d for d in Department.objects.select_related("kind", "region")
        }
        self.industries: dict[str, Industry] = {i.code: i for i in Industry.objects.all()}
        industry_code = {i.pk: i.code for i in self.industries.values()}
        for item in self.industries.values():
            self.industry_parent[item.code] = industry_code.get(item.parent_id or 0)
        self.db_duties = list(Duty.objects.select_related("industry", "department_kind"))
        self.users: dict[str, User] = {
            u.username: u
            for u in fetch_in(User.objects.all(), "username", self._referenced_usernames())
        }
        found = fetch_in(
            Enterprise.objects.all(), "uscc", [u for u in self._referenced_usccs() if len(u) == 18]
        )
        self.enterprises: dict[str, Enterprise] = {e.uscc: e for e in found}
        ids = [e.pk for e in found]
        self.links: dict[int, list[str]] = {}
        links = fetch_in(EnterpriseIndustry.objects.all(), "enterprise_id", ids)
        for link in sorted(links, key=lambda x: (x.enterprise_id, x.position)):
            self.links.setdefault(link.enterprise_id, []).append(industry_code[link.industry_id])
        user_ids = [u.pk for u in self.users.values()]
        self.memberships = {
            (m.user_id, m.department_id, m.enterprise_id, m.role)
            for m in fetch_in(Membership.objects.all(), "user_id", user_ids)
        }
        self._prefetch_posts(found)

    def _prefetch_posts(self, enterprises: list[Enterprise]) -> None:
        uscc_of = {e.pk: e.uscc for e in enterprises}
        rows = fetch_in(Post.objects.all(), "enterprise_id", list(uscc_of))
        code_of = {p.pk: p.code for p in rows}
        self.posts: dict[tuple[str, str], Post] = {}
        for post in rows:
            key = (uscc_of[post.enterprise_id], post.code)
            self.posts[key] = post
            parent_code = code_of.get(post.reports_to_id or 0)
            self.post_parent[key] = (key[0], parent_code) if parent_code else None

    def _column_values(self, *places: tuple[str, str]) -> set[str]:
        return {
            cell_text(row.values.get(column))
            for sheet, column in places
            if sheet in self.sheets
            for row in self.sheets[sheet].rows
        } - {""}

    def _referenced_usernames(self) -> set[str]:
        places = (
            ("people", "username"),
            ("enterprises", "principal_username"),
            ("posts", "holder_username"),
        )
        return {User.normalize_username(v) for v in self._column_values(*places)}

    def _referenced_usccs(self) -> set[str]:
        places = (("enterprises", "uscc"), ("people", "org_code"), ("posts", "enterprise_uscc"))
        return {normalize_uscc(v) for v in self._column_values(*places)}
