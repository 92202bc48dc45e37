"""Import a city's organisations and duty map from one Excel workbook (issue 3 §4).

Rules that are not obvious:

- **All or nothing.** Every row of every sheet is checked first — against the database *and* the
  other rows of the workbook, in dependency order (regions, department kinds, departments,
  industries, duties, enterprises, people, posts). Only a workbook without a single error is
  written, in one transaction.
- **Upserts by natural key** (region/kind/department/industry code, USCC, username, enterprise +
  post code); a row whose values equal the database is not written at all, so re-importing the
  same file changes nothing.
- **Optional columns:** a column left out of the header leaves that field of existing rows
  untouched; a column that is present but has an empty cell clears the field.
- **Duty rows are history.** An existing row (same industry, kind, role, first day) may only be
  end-dated (its last day set or moved earlier); a change of levels or decision needs a new row
  with a new ``valid_from`` and is reported as an error.
- **People** are created with an unusable password (they set one through password reset);
  memberships are only added, never removed. A people row is "created" when its membership is new.
- **Speed.** Existing rows are fetched in bulk into dicts and written with bulk_create/bulk_update:
  the number of queries grows with the number of *batches*, never with the number of rows.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import IO, Any, TypeVar

import openpyxl
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

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

from .models import Duty, EnterpriseIndustry, Industry, Level, Post
from .selectors import lead_overlaps

M = TypeVar("M", bound=models.Model)

# --- The workbook format: one table used to parse and to build the template ------------------


@dataclass(frozen=True)
class Column:
    """A column: its English key, its Chinese template header, and how its cells are read."""

    key: str
    label: str
    help: str | Promise
    required: bool = False
    max_length: int | None = None
    # canonical value -> accepted Chinese spellings (the first is offered in the template)
    choices: dict[str, tuple[str, ...]] | None = None
    is_date: bool = False
    is_text_code: bool = False  # typed as text in the template, so Excel keeps every digit


@dataclass(frozen=True)
class SheetSpec:
    """A sheet: its English key, its Chinese name and its columns in template order."""

    key: str
    label: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


REGION_LEVELS: dict[str, tuple[str, ...]] = {
    "city": ("市", "市级"),
    "county": ("县", "县级", "区"),
    "township": ("乡镇", "街道"),
}
DUTY_ROLES: dict[str, tuple[str, ...]] = {"lead": ("牵头",), "cooperating": ("配合",)}
DUTY_LEVELS: dict[str, tuple[str, ...]] = {"county": ("县级", "县"), "city": ("市级", "市")}
MEMBER_ROLES: dict[str, tuple[str, ...]] = {
    "staff": ("工作人员",),
    "head": ("部门负责人", "负责人"),
    "committee": ("安委办人员",),
    "principal": ("主要负责人",),
    "deputy": ("分管负责人",),
    "safety_manager": ("安全管理人员",),
    "employee": ("员工", "岗位员工"),
}
_H = gettext_lazy
_NAME = _H("Name.")
_REQ: dict[str, Any] = {"required": True}
_CODE: dict[str, Any] = {"required": True, "is_text_code": True}

SHEETS: tuple[SheetSpec, ...] = (
    SheetSpec(
        "regions",
        "行政区划",
        (
            Column(
                "code",
                "区划代码",
                _H(
                    "Administrative division code: 6 digits for a city or county, 9 for a "
                    "township (starting with its county's code)."
                ),
                **_CODE,
            ),
            Column("name", "名称", _NAME, max_length=100, **_REQ),
            Column(
                "level",
                "层级",
                _H("city, county or township (市/县/乡镇)."),
                choices=REGION_LEVELS,
                **_REQ,
            ),
            Column(
                "parent_code",
                "上级区划代码",
                _H("Code of the parent region (empty for the city)."),
                is_text_code=True,
            ),
        ),
    ),
    SheetSpec(
        "department_kinds",
        "部门类别",
        (
            Column(
                "code",
                "类别代码",
                _H("Kind code: letters, digits, hyphens and underscores (e.g. emergency)."),
                max_length=40,
                **_REQ,
            ),
            Column("name", "名称", _NAME, max_length=100, **_REQ),
        ),
    ),
    SheetSpec(
        "departments",
        "部门",
        (
            Column(
                "code",
                "部门代码",
                _H("Department code, unique (e.g. 141002-emergency)."),
                max_length=40,
                **_CODE,
            ),
            Column("name", "部门名称", _NAME, max_length=100, **_REQ),
            Column(
                "kind", "部门类别", _H("Department kind code (see the department kinds)."), **_REQ
            ),
            Column(
                "region_code",
                "区划代码",
                _H("Code of the region the department belongs to."),
                **_CODE,
            ),
        ),
    ),
    SheetSpec(
        "industries",
        "行业",
        (
            Column(
                "code",
                "行业代码",
                _H("Industry code: letters, digits, hyphens and underscores."),
                max_length=40,
                **_REQ,
            ),
            Column("name", "行业名称", _NAME, max_length=100, **_REQ),
            Column(
                "parent_code",
                "上级行业代码",
                _H("Code of the parent industry (empty for a top-level industry)."),
            ),
        ),
    ),
    SheetSpec(
        "duties",
        "职责",
        (
            Column("industry_code", "行业代码", _H("Industry code."), **_REQ),
            Column("department_kind", "部门类别", _H("Department kind code."), **_REQ),
            Column(
                "role",
                "职责类型",
                _H("lead or cooperating (牵头/配合)."),
                choices=DUTY_ROLES,
                **_REQ,
            ),
            Column(
                "general_level",
                "一般隐患层级",
                _H("Level in charge of general hazards: county or city (县级/市级)."),
                choices=DUTY_LEVELS,
                **_REQ,
            ),
            Column(
                "major_level",
                "重大隐患层级",
                _H("Level in charge of major hazards: county or city (县级/市级)."),
                choices=DUTY_LEVELS,
                **_REQ,
            ),
            Column(
                "valid_from",
                "生效日期",
                _H(
                    "First valid day (YYYY-MM-DD). Rows are never edited: a change is a new row "
                    "with a new first day."
                ),
                is_date=True,
                **_REQ,
            ),
            Column(
                "valid_to",
                "截止日期",
                _H(
                    "Last valid day (YYYY-MM-DD); empty: open. An existing row may only be "
                    "ended, or ended earlier."
                ),
                is_date=True,
            ),
            Column(
                "decision",
                "决定文号",
                _H("Committee decision reference, e.g. 临安委〔2024〕5号."),
                max_length=100,
            ),
        ),
    ),
    SheetSpec(
        "enterprises",
        "企业",
        (
            Column(
                "uscc",
                "统一社会信用代码",
                _H("18-character unified social credit code (the check character is verified)."),
                **_CODE,
            ),
            Column("name", "企业名称", _NAME, max_length=200, **_REQ),
            Column(
                "region_code",
                "区划代码",
                _H("Code of the county or township where the enterprise is."),
                **_CODE,
            ),
            Column(
                "industry_codes",
                "行业代码",
                _H(
                    "Industry codes separated by commas, primary first; they replace the "
                    "enterprise's industries."
                ),
                **_REQ,
            ),
            Column("address", "地址", _H("Address."), max_length=300),
            Column(
                "principal_username",
                "主要负责人账号",
                _H("Username of the principal (in the database or on the people sheet)."),
            ),
        ),
    ),
    SheetSpec(
        "people",
        "人员",
        (
            Column(
                "username",
                "账号",
                _H("Login name; a new person sets a password through password reset."),
                max_length=150,
                **_REQ,
            ),
            Column("full_name", "姓名", _H("Full name."), max_length=100, **_REQ),
            Column("mobile", "手机号", _H("11-digit mobile number."), is_text_code=True),
            Column("org_code", "单位代码", _H("Department code or enterprise USCC."), **_CODE),
            Column(
                "role",
                "角色",
                _H(
                    "Department: staff, head, committee; enterprise: principal, deputy, "
                    "safety_manager, employee."
                ),
                choices=MEMBER_ROLES,
                **_REQ,
            ),
        ),
    ),
    SheetSpec(
        "posts",
        "岗位",
        (
            Column(
                "enterprise_uscc", "企业统一社会信用代码", _H("USCC of the enterprise."), **_CODE
            ),
            Column(
                "code",
                "岗位代码",
                _H("Post code, unique within the enterprise."),
                max_length=40,
                **_CODE,
            ),
            Column("title", "岗位名称", _H("Post title."), max_length=100, **_REQ),
            Column(
                "holder_username",
                "在岗人员账号",
                _H("Username of the holder (in the database or on the people sheet)."),
            ),
            Column(
                "reports_to_code",
                "上级岗位代码",
                _H("Code of the post this post reports to, in the same enterprise."),
                is_text_code=True,
            ),
            Column("duties", "岗位职责", _H("Written safety duties of the post.")),
        ),
    ),
)
SHEET_ORDER = tuple(spec.key for spec in SHEETS)
HELP_SHEET = "说明"
_SPEC_BY_NAME: dict[str, SheetSpec] = {
    **{spec.key: spec for spec in SHEETS},
    **{spec.label: spec for spec in SHEETS},
}
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_LIST_SEPARATORS = re.compile(r"[,，、;；]")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_CHUNK = 900  # keys per IN (...) query: below SQLite's historical 999-variable limit

# Error code -> message (an English msgid, translated when the error is reported).
MESSAGES: dict[str, str] = {
    "required": gettext_noop("This value is required."),
    "too_long": gettext_noop("At most %(n)d characters (this one has %(length)d)."),
    "bad_value": gettext_noop("“%(value)s” is not one of: %(choices)s."),
    "bad_date": gettext_noop("“%(value)s” is not a date (use YYYY-MM-DD)."),
    "bad_code": gettext_noop("Use only letters, digits, hyphens and underscores."),
    "duplicate": gettext_noop("Duplicate of row %(row)d."),
    "code_length": gettext_noop("A %(level)s code has exactly %(n)d digits."),
    "township_prefix": gettext_noop("A township code starts with its county's code."),
    "level_mismatch": gettext_noop(
        "The parent of a %(level)s must be a %(wanted)s; %(parent)s is a %(actual)s."
    ),
    "level_change": gettext_noop(
        "The level of an existing region cannot be changed (it is %(level)s)."
    ),
    "unknown_parent": gettext_noop(
        "Unknown parent %(code)s: it is neither in the database nor in this workbook."
    ),
    "cycle": gettext_noop("%(code)s would be its own ancestor: the tree has a cycle (%(path)s)."),
    "unknown_kind": gettext_noop("Unknown department kind %(code)s."),
    "unknown_region": gettext_noop("Unknown region %(code)s."),
    "unknown_industry": gettext_noop("Unknown industry %(code)s."),
    "unknown_user": gettext_noop(
        "Unknown user %(username)s: not in the database nor on the people sheet."
    ),
    "unknown_org": gettext_noop(
        "Unknown organisation %(code)s: neither a department code nor the unified social credit "
        "code of an enterprise."
    ),
    "unknown_enterprise": gettext_noop(
        "Unknown enterprise %(uscc)s: not in the database nor on the enterprises sheet."
    ),
    "department_clash": gettext_noop(
        "Region %(region)s can have only one department of kind %(kind)s; %(others)s also is one."
    ),
    "date_order": gettext_noop("The last valid day is before the first valid day."),
    "duty_changed": gettext_noop(
        "An existing duty row cannot be changed (%(fields)s): end it with a last valid day and "
        "add a row with a new first valid day."
    ),
    "duty_reopen": gettext_noop(
        "An ended duty row cannot be extended or reopened (it ends on %(day)s)."
    ),
    "lead_overlap": gettext_noop(
        "Lead duties overlap: %(industry)s would have more than one lead at %(level)s level on "
        "the same day (also: %(others)s)."
    ),
    "region_level": gettext_noop("An enterprise belongs to a county or a township, not a city."),
    "role_not_allowed": gettext_noop(
        "The role %(role)s does not exist in a %(org)s; use one of: %(roles)s."
    ),
    "conflict": gettext_noop("This person's %(column)s differs from row %(row)d."),
    "unknown_column": gettext_noop(
        "Unknown column “%(header)s”; the columns of this sheet are: %(columns)s."
    ),
    "missing_column": gettext_noop("The required column %(column)s (%(label)s) is missing."),
    "duplicate_column": gettext_noop("The column %(column)s appears twice."),
    "duplicate_sheet": gettext_noop("The sheet %(sheet)s appears twice (%(first)s, %(second)s)."),
}
CITY_HAS_NO_PARENT = gettext_noop("A city has no parent region.")
NEEDS_A_PARENT = gettext_noop("This level needs a parent region.")
LISTED_TWICE = gettext_noop("Industry %(code)s is listed twice.")
UNREADABLE = gettext_noop("The file could not be read as an Excel .xlsx workbook (%(error)s).")


# --- Result --------------------------------------------------------------------------------


class WorkbookError(ValueError):
    """The file is not a readable .xlsx workbook (the message is a translated sentence)."""


@dataclass(frozen=True)
class ImportErrorItem:
    """One problem: the sheet key, the Excel row number, the column key, a message and a code."""

    sheet: str
    row: int
    column: str
    message: str
    code: str

    def __str__(self) -> str:
        return _("%(sheet)s, row %(row)d, %(column)s: %(message)s") % {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column or "-",
            "message": self.message,
        }

    @property
    def sheet_label(self) -> str:
        spec = _SPEC_BY_NAME.get(self.sheet)
        return spec.label if spec else self.sheet

    @property
    def column_label(self) -> str:
        spec = _SPEC_BY_NAME.get(self.sheet)
        if spec is None or not self.column:
            return self.column
        return next((c.label for c in spec.columns if c.key == self.column), self.column)


def _item(
    sheet: str,
    row: int,
    column: str,
    code: str,
    text: str | None = None,
    /,
    **params: Any,
) -> ImportErrorItem:
    message = _(text or MESSAGES[code])
    return ImportErrorItem(sheet, row, column, message % params if params else message, code)


@dataclass
class ImportResult:
    """What an import found and did: ``counts[sheet]`` has created/updated/unchanged row counts
    (what *would* happen when ``dry_run`` is set or there are errors)."""

    errors: list[ImportErrorItem]
    counts: dict[str, dict[str, int]]
    dry_run: bool
    ignored_sheets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


# --- Reading the workbook ------------------------------------------------------------------


@dataclass
class Row:
    number: int  # Excel row number
    values: dict[str, Any]


@dataclass
class Sheet:
    spec: SheetSpec
    title: str  # the sheet's name in the file
    present: frozenset[str]  # column keys present in the header
    rows: list[Row]


Source = str | bytes | IO[bytes] | Any  # a path, the bytes, or an open binary file


def read_workbook(source: Source) -> tuple[dict[str, Sheet], list[ImportErrorItem], list[str]]:
    """The recognised sheets of a workbook by key, header errors, and the titles of sheets that
    were ignored (the "说明" help sheet and anything unknown). Raises WorkbookError for a file
    openpyxl cannot read."""
    if isinstance(source, bytes):
        source = BytesIO(source)
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise WorkbookError(_(UNREADABLE) % {"error": type(exc).__name__}) from exc
    try:
        return _read_sheets(book)
    except Exception as exc:
        raise WorkbookError(_(UNREADABLE) % {"error": type(exc).__name__}) from exc
    finally:
        book.close()


def _read_sheets(book: Any) -> tuple[dict[str, Sheet], list[ImportErrorItem], list[str]]:
    sheets: dict[str, Sheet] = {}
    errors: list[ImportErrorItem] = []
    ignored: list[str] = []
    for ws in book.worksheets:
        title = str(ws.title)
        spec = _SPEC_BY_NAME.get(title.strip()) or _SPEC_BY_NAME.get(title.strip().lower())
        if spec is None:
            ignored.append(title)
            continue
        if spec.key in sheets:
            first = sheets[spec.key].title
            errors.append(
                _item(spec.key, 1, "", "duplicate_sheet", sheet=spec.key, first=first, second=title)
            )
            continue
        ws.reset_dimensions()  # some writers record a wrong size: read every row there is
        rows = ws.iter_rows(values_only=True)
        keys, header_errors = _parse_header(spec, next(rows, ()))
        errors.extend(header_errors)
        parsed = [
            Row(number, {key: values[i] for i, key in keys.items() if i < len(values)})
            for number, values in enumerate(rows, start=2)
            if any(v is not None and str(v).strip() for v in values)
        ]
        sheets[spec.key] = Sheet(spec, title, frozenset(keys.values()), parsed)
    return sheets, errors, ignored


def _parse_header(
    spec: SheetSpec, header: Sequence[Any]
) -> tuple[dict[int, str], list[ImportErrorItem]]:
    by_name = {c.key.lower(): c.key for c in spec.columns} | {c.label: c.key for c in spec.columns}
    keys: dict[int, str] = {}
    errors: list[ImportErrorItem] = []
    for index, cell in enumerate(header):
        name = _text(cell)
        key = by_name.get(name) or by_name.get(name.lower())
        if not name:
            continue
        if key is None:
            columns = ", ".join(f"{c.key}（{c.label}）" for c in spec.columns)
            errors.append(_item(spec.key, 1, name, "unknown_column", header=name, columns=columns))
        elif key in keys.values():
            errors.append(_item(spec.key, 1, key, "duplicate_column", column=key))
        else:
            keys[index] = key
    errors.extend(
        _item(spec.key, 1, c.key, "missing_column", column=c.key, label=c.label)
        for c in spec.columns
        if c.required and c.key not in keys.values()
    )
    return keys, errors


def _text(value: Any) -> str:
    """A cell as stripped text; whole numbers lose Excel's ".0" (codes typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _fetch_in(queryset: models.QuerySet[M], field_name: str, values: Iterable[Any]) -> list[M]:
    keys = sorted(set(values))
    found: list[M] = []
    for start in range(0, len(keys), _CHUNK):
        found.extend(queryset.filter(**{f"{field_name}__in": keys[start : start + _CHUNK]}))
    return found


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


# --- Checking ------------------------------------------------------------------------------


@dataclass
class _Update:
    """An existing row and the field values the workbook gives it."""

    instance: models.Model
    values: dict[str, Any]


class _Import:
    """One import run: check every sheet, then (if clean and not a dry run) write everything.

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
        self.updates: dict[str, list[_Update]] = {key: [] for key in SHEET_ORDER}
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
        self.errors.append(_item(sheet, row.number, column, code, text, **params))

    def count(self, sheet: str, outcome: str) -> None:
        self.counts[sheet][outcome] += 1

    def cell(self, sheet: Sheet, row: Row, key: str) -> str:
        """The text of a cell; reports a missing required value or a too long one."""
        column = sheet.spec.column(key)
        value = _text(row.values.get(key))
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
        for fmt in _DATE_FORMATS if text else ():
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
            self.updates[sheet].append(_Update(instance, changed))
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
            for u in _fetch_in(User.objects.all(), "username", self._referenced_usernames())
        }
        found = _fetch_in(
            Enterprise.objects.all(), "uscc", [u for u in self._referenced_usccs() if len(u) == 18]
        )
        self.enterprises: dict[str, Enterprise] = {e.uscc: e for e in found}
        ids = [e.pk for e in found]
        self.links: dict[int, list[str]] = {}
        links = _fetch_in(EnterpriseIndustry.objects.all(), "enterprise_id", ids)
        for link in sorted(links, key=lambda x: (x.enterprise_id, x.position)):
            self.links.setdefault(link.enterprise_id, []).append(industry_code[link.industry_id])
        user_ids = [u.pk for u in self.users.values()]
        self.memberships = {
            (m.user_id, m.department_id, m.enterprise_id, m.role)
            for m in _fetch_in(Membership.objects.all(), "user_id", user_ids)
        }
        self._prefetch_posts(found)

    def _prefetch_posts(self, enterprises: list[Enterprise]) -> None:
        uscc_of = {e.pk: e.uscc for e in enterprises}
        rows = _fetch_in(Post.objects.all(), "enterprise_id", list(uscc_of))
        code_of = {p.pk: p.code for p in rows}
        self.posts: dict[tuple[str, str], Post] = {}
        for post in rows:
            key = (uscc_of[post.enterprise_id], post.code)
            self.posts[key] = post
            parent_code = code_of.get(post.reports_to_id or 0)
            self.post_parent[key] = (key[0], parent_code) if parent_code else None

    def _column_values(self, *places: tuple[str, str]) -> set[str]:
        return {
            _text(row.values.get(column))
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

    # --- sheets --------------------------------------------------------------------------

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
            if code and not _SLUG.match(code):
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
            if code and not _SLUG.match(code):
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
            self.updates["duties"].append(_Update(duty, {"valid_to": valid_to}))
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
        for part in _LIST_SEPARATORS.split(self.cell(sheet, row, "industry_codes")):
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
            self.updates["people"].append(_Update(existing, changed))
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
        self.prefetch()
        for key in SHEET_ORDER:
            if key in self.sheets:
                getattr(self, f"check_{key}")(self.sheets[key])

    # --- writing -------------------------------------------------------------------------

    @transaction.atomic
    def write(self) -> None:
        """Write the checked plan: parents before children, updates before inserts (a department
        moving away from a kind and region frees the slot for a new one)."""
        for level in ("city", "county", "township"):
            batch = [r for r in self.new["regions"] if r.level == level]
            for region in batch:
                region.parent = self.resolve(("regions", self.region_parent.get(region.code)))
            Region.objects.bulk_create(batch)
        self.apply("regions", Region)
        self.apply("department_kinds", DepartmentKind)
        DepartmentKind.objects.bulk_create(self.new["department_kinds"])
        self.apply("departments", Department)
        for department, kind, region in self.new["departments"]:
            department.kind, department.region = self.kinds[kind], self.regions[region]
        Department.objects.bulk_create([d for d, _k, _r in self.new["departments"]])
        self._write_industries()
        self.apply("duties", Duty)
        Duty.objects.bulk_create(self.new["duties"])
        for user in self.new["people"]:
            user.set_unusable_password()
        User.objects.bulk_create(self.new["people"])
        self.apply("people", User)
        self._write_enterprises()
        Membership.objects.bulk_create(
            Membership(
                user=self.users[username],
                department=self.departments[org] if kind == "department" else None,
                enterprise=self.enterprises[org] if kind == "enterprise" else None,
                role=role,
            )
            for username, kind, org, role in self.new_memberships
        )
        self._write_posts()

    def _write_industries(self) -> None:
        Industry.objects.bulk_create([i for i, _p in self.new["industries"]])
        for item, parent in self.new["industries"]:
            item.parent = self.industries[parent] if parent else None
        with_parent = [i for i, p in self.new["industries"] if p]
        Industry.objects.bulk_update(with_parent, ["parent"], batch_size=_CHUNK)
        self.apply("industries", Industry)

    def _write_enterprises(self) -> None:
        for enterprise, values in self.new["enterprises"]:
            for name, value in values.items():
                setattr(enterprise, name, self.resolve(value))
        Enterprise.objects.bulk_create([e for e, _v in self.new["enterprises"]])
        self.apply("enterprises", Enterprise)
        for start in range(0, len(self.replaced_links), _CHUNK):
            chunk = self.replaced_links[start : start + _CHUNK]
            EnterpriseIndustry.objects.filter(enterprise_id__in=chunk).delete()
        EnterpriseIndustry.objects.bulk_create(
            EnterpriseIndustry(
                enterprise=self.enterprises[uscc], industry=self.industries[code], position=i
            )
            for uscc, codes in self.new_links.items()
            for i, code in enumerate(codes)
        )

    def _write_posts(self) -> None:
        for post, uscc, values in self.new["posts"]:
            post.enterprise = self.enterprises[uscc]
            post.holder = self.resolve(values.get("holder"))
        Post.objects.bulk_create([p for p, _u, _v in self.new["posts"]])
        linked = []
        for post, _uscc, values in self.new["posts"]:
            post.reports_to = self.resolve(values.get("reports_to"))
            if post.reports_to is not None:
                linked.append(post)
        Post.objects.bulk_update(linked, ["reports_to"], batch_size=_CHUNK)
        self.apply("posts", Post)

    def resolve(self, value: Any) -> Any:
        """A planned value: ("table", key) names a row of a merged table (None for no key)."""
        if isinstance(value, tuple):
            table, key = value
            return getattr(self, table).get(key) if key else None
        return value

    def apply(self, sheet: str, model: type[models.Model]) -> None:
        """Write the planned updates of one sheet with a single bulk_update."""
        updates = self.updates[sheet]
        names: set[str] = set()
        for update in updates:
            for name, value in update.values.items():
                setattr(update.instance, name, self.resolve(value))
                names.add(name)
        if updates:
            objs = [u.instance for u in updates]
            model._default_manager.bulk_update(objs, sorted(names), batch_size=_CHUNK)


# --- Entry points --------------------------------------------------------------------------


def workbook_import(
    *, source: Source, dry_run: bool = False, user: User | None = None
) -> ImportResult:
    """Check a workbook and, unless ``dry_run`` or any error was found, write it in one
    transaction. Errors come in sheet, row and column order. Raises WorkbookError when the file is
    not a readable .xlsx workbook."""
    sheets, errors, ignored = read_workbook(source)
    run = _Import(sheets, user=user)
    run.errors.extend(errors)
    run.check()
    order = {key: i for i, key in enumerate(SHEET_ORDER)}
    run.errors.sort(key=lambda e: (order.get(e.sheet, 99), e.row, _column_index(e)))
    if not run.errors and not dry_run:
        run.write()
    return ImportResult(
        errors=run.errors, counts=run.counts, dry_run=dry_run, ignored_sheets=ignored
    )


def _column_index(error: ImportErrorItem) -> int:
    spec = _SPEC_BY_NAME.get(error.sheet)
    keys = [c.key for c in spec.columns] if spec else []
    return keys.index(error.column) if error.column in keys else len(keys)


def build_template() -> bytes:
    """The downloadable .xlsx template: one sheet per table named with its Chinese label, the
    Chinese headers in row 1 only (the parser reads data from row 2), and a "说明" sheet — which
    the parser ignores — explaining every column."""
    book = openpyxl.Workbook()
    guide = book.active
    guide.title = HELP_SHEET
    _write_guide(guide)
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    for spec in SHEETS:
        ws = book.create_sheet(spec.label)
        ws.freeze_panes = "A2"
        for index, column in enumerate(spec.columns, start=1):
            cell = ws.cell(row=1, column=index, value=column.label)
            cell.font = Font(bold=True)
            if column.required:
                cell.fill = required_fill
            letter = cell.column_letter
            ws.column_dimensions[letter].width = max(14, len(column.label) * 2 + 4)
            if column.is_text_code:
                ws.column_dimensions[letter].number_format = "@"
            if column.is_date:
                ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
            if column.choices:
                values = ",".join(aliases[0] for aliases in column.choices.values())
                # A suggestion, not a rule: typing the English key stays possible.
                check = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
                check.showErrorMessage = False
                ws.add_data_validation(check)
                check.add(f"{letter}2:{letter}5000")
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _write_guide(ws: Any) -> None:
    lines = [
        _("How to fill in this workbook"),
        _(
            "Fill in the sheets you need and delete or leave empty the others; the header stays "
            "in row 1 and data starts in row 2. Sheet and column names may also be the English keys."
        ),
        _(
            "The import is all or nothing: if any row has an error, nothing is written and every "
            "error is listed with its sheet, row and column."
        ),
        _(
            "Rows are matched by their code, unified social credit code or username: existing "
            "rows are updated, new ones created, and importing the same file again changes nothing."
        ),
        _(
            "An optional column removed from the header leaves that field unchanged; an empty "
            "cell in a present column clears it. Headers with a coloured background are required."
        ),
        _("This sheet is ignored by the import."),
    ]
    for index, line in enumerate(lines, start=1):
        ws.cell(row=index, column=1, value=line).font = Font(bold=index == 1)
    start = len(lines) + 2
    for col, text in enumerate((_("Sheet"), _("Column"), _("Key"), _("Required"), _("Meaning")), 1):
        ws.cell(row=start, column=col, value=text).font = Font(bold=True)
    row = start + 1
    for spec in SHEETS:
        for column in spec.columns:
            values = (
                f"{spec.label}（{spec.key}）",
                column.label,
                column.key,
                _("yes") if column.required else "",
                str(column.help),
            )
            for col, text in enumerate(values, start=1):
                ws.cell(row=row, column=col, value=text).alignment = Alignment(wrap_text=col == 5)
            row += 1
    for letter, width in zip("ABCDE", (24, 20, 20, 8, 80), strict=True):
        ws.column_dimensions[letter].width = width
