"""Checking every sheet against the database *and* the other rows of the workbook, in dependency
order (regions, department kinds, departments, industries, duties, enterprises, people, posts),
planning the rows to create and the fields to update on the way.

Rules that are not obvious:

- **Upserts by natural key**; a row whose values equal the database is not written at all.
- **Optional columns:** a column left out of the header leaves that field of existing rows
  untouched; a column that is present but has an empty cell clears the field.
- **Duty rows are history.** An existing row may only be end-dated (its last day set or moved
  earlier); a change of levels or decision needs a new row with a new ``valid_from``.
- **People**: memberships are only added, never removed; a people row is "created" when its
  membership is new.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from accounts.models import (
    Department,
    DepartmentKind,
    Enterprise,
    Membership,
    Region,
    User,
    mobile_validator,
)
from accounts.uscc import normalize_uscc, validate_uscc

from ..models import Duty, Industry, Level, Post
from ..selectors import lead_overlaps
from .plan import ImportPlan, Update
from .reading import Row, Sheet
from .spec import (
    CITY_HAS_NO_PARENT,
    LIST_SEPARATORS,
    LISTED_TWICE,
    NEEDS_A_PARENT,
    SHEET_ORDER,
    SLUG,
)


def _cycle_members(parent_of: dict[Any, Any], starts: Iterable[Hashable]) -> dict[Any, list[Any]]:
    """Each start that lies on a cycle of ``parent_of``, with the cycle as a path."""
    found: dict[Any, list[Any]] = {}
    for start in starts:
        path, seen, node = [start], {start}, parent_of.get(start)
        while node is not None and node not in seen:
            seen.add(node)
            path.append(node)
            node = parent_of.get(node)
        if node == start:
            found[start] = [*path, start]
    return found


def _label(choices: type[models.TextChoices], value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


class ImportCheck(ImportPlan):
    """Check every sheet of a workbook and plan its writes (``check``); errors go to ``errors``."""

    def check_regions(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        rows: list[tuple[Row, str, str, str, str]] = []
        for row in sheet.rows:
            code = self.cell(sheet, row, "code")
            name = self.cell(sheet, row, "name")
            level = self.choice(sheet, row, "level")
            parent = self.cell(sheet, row, "parent_code")
            if not code or not self.unique(sheet, row, "code", code, seen):
                continue
            existing = self.regions.get(code)
            if existing is not None and level and existing.level != level:
                shown = _label(Region.Level, existing.level)
                self.fail("regions", row, "level", "level_change", level=shown)
                level = existing.level
            rows.append((row, code, name, level, parent))
            self.region_parent[code] = parent or None
            self.region_level[code] = level  # "" when unreadable: known, level unknown
        cycles = _cycle_members(self.region_parent, [r[1] for r in rows])
        for row, code, name, level, parent in rows:
            if code in cycles:
                self.cycle("regions", row, "parent_code", cycles[code])
            elif level:
                self._check_region_shape(row, code, level, parent)
            existing = self.regions.get(code)
            if existing is None:
                self.regions[code] = Region(code=code, name=name, level=level)
                self.new["regions"].append(self.regions[code])
                self.count("regions", "created")
            else:
                self.outcome("regions", existing, {"name": name, "parent": ("regions", parent)})

    def _check_region_shape(self, row: Row, code: str, level: str, parent: str) -> None:
        length = Region.CODE_LENGTH[level]
        if not (code.isdigit() and len(code) == length):
            shown = _label(Region.Level, level)
            self.fail("regions", row, "code", "code_length", level=shown, n=length)
        wanted = Region.PARENT_LEVEL[level]
        if wanted is None:
            if parent:
                self.fail("regions", row, "parent_code", "level_mismatch", CITY_HAS_NO_PARENT)
        elif not parent:
            self.fail("regions", row, "parent_code", "required", NEEDS_A_PARENT)
        elif parent not in self.region_level:
            self.fail("regions", row, "parent_code", "unknown_parent", code=parent)
        elif self.region_level[parent] and self.region_level[parent] != wanted:
            self.fail(
                "regions",
                row,
                "parent_code",
                "level_mismatch",
                level=_label(Region.Level, level),
                wanted=_label(Region.Level, wanted),
                parent=parent,
                actual=_label(Region.Level, self.region_level[parent]),
            )
        elif level == Region.Level.TOWNSHIP and not code.startswith(parent):
            self.fail("regions", row, "code", "township_prefix")

    def check_department_kinds(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        for row in sheet.rows:
            code = self.cell(sheet, row, "code")
            name = self.cell(sheet, row, "name")
            if code and not SLUG.match(code):
                self.fail("department_kinds", row, "code", "bad_code")
            if not code or not self.unique(sheet, row, "code", code, seen):
                continue
            existing = self.kinds.get(code)
            if existing is None:
                self.kinds[code] = DepartmentKind(code=code, name=name)
                self.new["department_kinds"].append(self.kinds[code])
                self.count("department_kinds", "created")
            else:
                self.outcome("department_kinds", existing, {"name": name})

    def check_departments(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        slots = {d.code: (d.kind.code, d.region.code) for d in self.departments.values()}
        rows: dict[str, Row] = {}
        for row in sheet.rows:
            code = self.cell(sheet, row, "code")
            name = self.cell(sheet, row, "name")
            kind = self.cell(sheet, row, "kind")
            region = self.cell(sheet, row, "region_code")
            kind_ok = self.known(sheet, row, "kind", "unknown_kind", kind, self.kinds)
            region_ok = self.known(
                sheet, row, "region_code", "unknown_region", region, self.region_level
            )
            if not code or not self.unique(sheet, row, "code", code, seen):
                continue
            rows[code] = row
            if kind_ok and region_ok:
                slots[code] = (kind, region)
            existing = self.departments.get(code)
            if existing is None:
                self.departments[code] = Department(code=code, name=name)
                self.new["departments"].append((self.departments[code], kind, region))
                self.count("departments", "created")
            else:
                values = {"name": name, "kind": ("kinds", kind), "region": ("regions", region)}
                self.outcome("departments", existing, values)
        self._check_department_slots(slots, rows)

    def _check_department_slots(
        self, slots: dict[str, tuple[str, str]], rows: dict[str, Row]
    ) -> None:
        """A region has at most one department of a kind, counting the database and the file."""
        holders: dict[tuple[str, str], list[str]] = {}
        for code, slot in slots.items():
            holders.setdefault(slot, []).append(code)
        for (kind, region), codes in holders.items():
            for code in codes if len(codes) > 1 else ():
                if code in rows:
                    others = ", ".join(c for c in codes if c != code)
                    self.fail(
                        "departments",
                        rows[code],
                        "region_code",
                        "department_clash",
                        region=region,
                        kind=kind,
                        others=others,
                    )

    def check_industries(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        rows: list[tuple[Row, str, str, str]] = []
        for row in sheet.rows:
            code = self.cell(sheet, row, "code")
            name = self.cell(sheet, row, "name")
            parent = self.cell(sheet, row, "parent_code")
            if code and not SLUG.match(code):
                self.fail("industries", row, "code", "bad_code")
            if code and self.unique(sheet, row, "code", code, seen):
                rows.append((row, code, name, parent))
                self.industry_parent[code] = parent or None
        cycles = _cycle_members(self.industry_parent, [r[1] for r in rows])
        for row, code, name, parent in rows:
            if code in cycles:
                self.cycle("industries", row, "parent_code", cycles[code])
            elif parent and parent not in self.industry_parent:
                self.fail("industries", row, "parent_code", "unknown_parent", code=parent)
            existing = self.industries.get(code)
            if existing is None:
                self.industries[code] = Industry(code=code, name=name)
                self.new["industries"].append((self.industries[code], parent))
                self.count("industries", "created")
            else:
                values = {"name": name, "parent": ("industries", parent)}
                self.outcome("industries", existing, values)

    def check_duties(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        by_key = {
            (d.industry.code, d.department_kind.code, d.role, d.valid_from): d
            for d in self.db_duties
        }
        touched: dict[int, Row] = {}  # id(duty) -> its row, for the workbook's rows
        positions: dict[tuple[str, str], int] = {}
        for row in sheet.rows:
            industry = self.cell(sheet, row, "industry_code")
            kind = self.cell(sheet, row, "department_kind")
            role = self.choice(sheet, row, "role")
            general = self.choice(sheet, row, "general_level")
            major = self.choice(sheet, row, "major_level")
            valid_from = self.day(sheet, row, "valid_from")
            valid_to = self.day(sheet, row, "valid_to")
            decision = self.cell(sheet, row, "decision")
            industry_ok = self.known(
                sheet, row, "industry_code", "unknown_industry", industry, self.industries
            )
            kind_ok = self.known(sheet, row, "department_kind", "unknown_kind", kind, self.kinds)
            if valid_from and valid_to and valid_to < valid_from:
                self.fail("duties", row, "valid_to", "date_order")
                continue
            key = (industry, kind, role, valid_from)
            if valid_from is None or not (industry and kind and role):
                continue
            if not self.unique(sheet, row, "valid_from", key, seen):
                continue
            position = positions.get((industry, role), 0)
            positions[(industry, role)] = position + 1
            existing = by_key.get((industry, kind, role, valid_from))
            if existing is not None:
                planned = {"general_level": general, "major_level": major, "valid_to": valid_to}
                if "decision" in sheet.present:
                    planned["decision"] = decision
                self._check_existing_duty(row, existing, planned)
                touched[id(existing)] = row
            elif industry_ok and kind_ok and general and major:
                duty = Duty(
                    industry=self.industries[industry],
                    department_kind=self.kinds[kind],
                    role=role,
                    general_level=general,
                    major_level=major,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    decision=decision,
                    position=position,
                    created_by=self.user,
                )
                self.new["duties"].append(duty)
                touched[id(duty)] = row
                self.count("duties", "created")
        self._check_lead_overlaps(touched)

    def _check_existing_duty(self, row: Row, duty: Duty, planned: dict[str, Any]) -> None:
        """Only end-dating is allowed: setting the last day, or moving it earlier."""
        differs = [
            name
            for name in ("general_level", "major_level", "decision")
            if name in planned and (planned[name] or name == "decision")
            if getattr(duty, name) != planned[name]
        ]
        valid_to = planned["valid_to"]
        if differs:
            self.fail("duties", row, differs[0], "duty_changed", fields=", ".join(differs))
        elif valid_to == duty.valid_to:
            self.count("duties", "unchanged")
        elif valid_to is not None and (duty.valid_to is None or valid_to < duty.valid_to):
            self.updates["duties"].append(Update(duty, {"valid_to": valid_to}))
            duty.valid_to = valid_to  # the overlap check sees the end-dated row
            self.count("duties", "updated")
        else:
            ends = duty.valid_to.isoformat() if duty.valid_to else "-"
            self.fail("duties", row, "valid_to", "duty_reopen", day=ends)

    def _check_lead_overlaps(self, touched: dict[int, Row]) -> None:
        """Overlaps are reported on the workbook's new or end-dated rows, never on rows that are
        already in the database unchanged (an old overlap is the coverage report's business)."""
        changed = {id(u.instance) for u in self.updates["duties"]}
        for overlap in lead_overlaps([*self.db_duties, *self.new["duties"]]):
            for duty in overlap.duties:
                row = touched.get(id(duty))
                if row is None or (duty.pk is not None and id(duty) not in changed):
                    continue
                others = "; ".join(
                    f"{d.department_kind.code} {d.valid_from.isoformat()}–"
                    f"{d.valid_to.isoformat() if d.valid_to else '…'}"
                    for d in overlap.duties
                    if d is not duty
                )
                level = _label(Level, overlap.level)
                industry = overlap.industry.code
                self.fail(
                    "duties",
                    row,
                    "valid_from",
                    "lead_overlap",
                    industry=industry,
                    level=level,
                    others=others,
                )

    def check_enterprises(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        people = self._people_usernames()
        for row in sheet.rows:
            uscc = self._uscc(sheet, row, "uscc")
            name = self.cell(sheet, row, "name")
            region = self.cell(sheet, row, "region_code")
            codes = self._industry_list(sheet, row)
            address = self.cell(sheet, row, "address")
            principal = self._username_ref(sheet, row, "principal_username", people)
            if self.known(
                sheet, row, "region_code", "unknown_region", region, self.region_level
            ) and (self.region_level[region] == Region.Level.CITY):
                self.fail("enterprises", row, "region_code", "region_level")
            if not uscc or not self.unique(sheet, row, "uscc", uscc, seen):
                continue
            values: dict[str, Any] = {"name": name, "region": ("regions", region)}
            if "address" in sheet.present:
                values["address"] = address
            if "principal_username" in sheet.present:
                values["principal"] = ("users", principal)
            existing = self.enterprises.get(uscc)
            if existing is None:
                self.enterprises[uscc] = Enterprise(uscc=uscc, name=name, address=address)
                self.new["enterprises"].append((self.enterprises[uscc], values))
                self.new_links[uscc] = codes
                self.count("enterprises", "created")
                continue
            lists_differ = self.links.get(existing.pk, []) != codes
            if lists_differ:
                self.new_links[uscc] = codes
                self.replaced_links.append(existing.pk)
            self.outcome("enterprises", existing, values, also_changed=lists_differ)

    def _uscc(self, sheet: Sheet, row: Row, column: str) -> str:
        """The normalised USCC. A malformed one is reported here and still returned, so that rows
        referring to it are not reported a second time as unknown."""
        uscc = normalize_uscc(self.cell(sheet, row, column))
        if uscc:
            try:
                validate_uscc(uscc)
            except ValidationError as exc:
                self.fail(sheet.spec.key, row, column, exc.code or "uscc", exc.messages[0])
        return uscc

    def _industry_list(self, sheet: Sheet, row: Row) -> list[str]:
        codes: list[str] = []
        for part in LIST_SEPARATORS.split(self.cell(sheet, row, "industry_codes")):
            code = part.strip()
            if code in codes:
                self.fail(
                    "enterprises", row, "industry_codes", "duplicate", LISTED_TWICE, code=code
                )
            elif code and code not in self.industries:
                self.fail("enterprises", row, "industry_codes", "unknown_industry", code=code)
            elif code:
                codes.append(code)
        return codes

    def _people_usernames(self) -> set[str]:
        return {User.normalize_username(v) for v in self._column_values(("people", "username"))}

    def _username_ref(self, sheet: Sheet, row: Row, column: str, people: set[str]) -> str:
        username = User.normalize_username(self.cell(sheet, row, column))
        if username and username not in self.users and username not in people:
            self.fail(sheet.spec.key, row, column, "unknown_user", username=username)
        return username

    def check_people(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        first_row: dict[str, tuple[Row, str, str]] = {}
        for row in sheet.rows:
            username = User.normalize_username(self.cell(sheet, row, "username"))
            full_name = self.cell(sheet, row, "full_name")
            mobile = self.cell(sheet, row, "mobile")
            role = self.choice(sheet, row, "role")
            org_kind, org = self._org(sheet, row)
            self._check_person_fields(row, username, mobile)
            allowed = (
                Membership.DEPARTMENT_ROLES
                if org_kind == "department"
                else Membership.ENTERPRISE_ROLES
            )
            if role and org_kind and role not in allowed:
                self.fail(
                    "people",
                    row,
                    "role",
                    "role_not_allowed",
                    role=role,
                    org=_(org_kind),
                    roles=", ".join(allowed),
                )
            key = (username, org_kind, org, role)
            if not username or not self.unique(sheet, row, "org_code", key, seen):
                continue
            if username in first_row:
                self._same_person(sheet, row, first_row[username], full_name, mobile)
                person = "same"
            else:
                first_row[username] = (row, full_name, mobile)
                person = self._person(sheet, username, full_name, mobile)
            self._membership(username, org_kind, org, role, person=person)

    def _check_person_fields(self, row: Row, username: str, mobile: str) -> None:
        for value, column, check in (
            (username, "username", UnicodeUsernameValidator()),
            (mobile, "mobile", mobile_validator),
        ):
            try:
                if value:
                    check(value)
            except ValidationError as exc:
                self.fail("people", row, column, f"bad_{column}", exc.messages[0])

    def _org(self, sheet: Sheet, row: Row) -> tuple[str, str]:
        """("department", code) or ("enterprise", USCC) for the row's organisation."""
        code = self.cell(sheet, row, "org_code")
        if not code:
            return "", ""
        if code in self.departments:
            return "department", code
        if normalize_uscc(code) in self.enterprises:
            return "enterprise", normalize_uscc(code)
        self.fail("people", row, "org_code", "unknown_org", code=code)
        return "", ""

    def _same_person(
        self, sheet: Sheet, row: Row, first: tuple[Row, str, str], full_name: str, mobile: str
    ) -> None:
        """A person on several rows (several memberships) must have the same name and mobile."""
        for column, value, earlier in (
            ("full_name", full_name, first[1]),
            ("mobile", mobile, first[2]),
        ):
            if column in sheet.present and value != earlier:
                self.fail("people", row, column, "conflict", column=column, row=first[0].number)

    def _person(self, sheet: Sheet, username: str, full_name: str, mobile: str) -> str:
        """Plan the user's row: "new", "changed" or "same"."""
        existing = self.users.get(username)
        if existing is None:
            self.users[username] = User(username=username, full_name=full_name, mobile=mobile)
            self.new["people"].append(self.users[username])
            return "new"
        values = {"full_name": full_name}
        if "mobile" in sheet.present:
            values["mobile"] = mobile
        changed = self.diff(existing, values)
        if changed:
            self.updates["people"].append(Update(existing, changed))
        return "changed" if changed else "same"

    def _membership(
        self, username: str, org_kind: str, org: str, role: str, *, person: str
    ) -> None:
        """A people row counts as created when its membership is new, updated when only the
        person's name or mobile changed."""
        if not (org_kind and role):
            return
        user = self.users[username]
        org_obj: Department | Enterprise = (
            self.departments[org] if org_kind == "department" else self.enterprises[org]
        )
        in_department = org_kind == "department"
        key = (
            user.pk,
            org_obj.pk if in_department else None,
            None if in_department else org_obj.pk,
            role,
        )
        if user.pk is None or org_obj.pk is None or key not in self.memberships:
            self.new_memberships.append((username, org_kind, org, role))
            self.count("people", "created")
        else:
            self.count("people", "updated" if person == "changed" else "unchanged")

    def check_posts(self, sheet: Sheet) -> None:
        seen: dict[Hashable, int] = {}
        people = self._people_usernames()
        rows: list[tuple[Row, tuple[str, str], dict[str, Any]]] = []
        for row in sheet.rows:
            uscc = self._uscc(sheet, row, "enterprise_uscc")
            code = self.cell(sheet, row, "code")
            title = self.cell(sheet, row, "title")
            holder = self._username_ref(sheet, row, "holder_username", people)
            parent = self.cell(sheet, row, "reports_to_code")
            duties = self.cell(sheet, row, "duties")
            if uscc and uscc not in self.enterprises:
                self.fail("posts", row, "enterprise_uscc", "unknown_enterprise", uscc=uscc)
                continue
            key = (uscc, code)
            if not (uscc and code) or not self.unique(sheet, row, "code", key, seen):
                continue
            values: dict[str, Any] = {"title": title}
            if "holder_username" in sheet.present:
                values["holder"] = ("users", holder)
            if "reports_to_code" in sheet.present:
                values["reports_to"] = ("posts", (uscc, parent) if parent else "")
                self.post_parent[key] = (uscc, parent) if parent else None
            else:
                self.post_parent.setdefault(key, None)
            if "duties" in sheet.present:
                values["duties"] = duties
            rows.append((row, key, values))
        self._plan_posts(rows)

    def _plan_posts(self, rows: list[tuple[Row, tuple[str, str], dict[str, Any]]]) -> None:
        cycles = _cycle_members(self.post_parent, [key for _row, key, _values in rows])
        for row, key, values in rows:
            parent_key = self.post_parent.get(key)
            if key in cycles:
                self.cycle("posts", row, "reports_to_code", cycles[key])
            elif parent_key is not None and parent_key not in self.post_parent:
                self.fail("posts", row, "reports_to_code", "unknown_parent", code=parent_key[1])
            existing = self.posts.get(key)
            if existing is None:
                post = Post(code=key[1], title=values["title"], duties=values.get("duties", ""))
                self.posts[key] = post
                self.new["posts"].append((post, key[0], values))
                self.count("posts", "created")
            else:
                self.outcome("posts", existing, values)

    def check(self) -> None:
        """Fetch the existing rows, then check the workbook's sheets in dependency order."""
        self.prefetch()
        for key in SHEET_ORDER:
            if key in self.sheets:
                getattr(self, f"check_{key}")(self.sheets[key])
