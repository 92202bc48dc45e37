"""The workbook format: one table of sheets and columns, used to parse a workbook and to build
its template, and the error codes with their messages (English msgids, translated when reported).

A column's ``choices`` map the canonical value to its accepted Chinese spellings; the first spelling
is the one the template offers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, gettext_noop


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
SPEC_BY_NAME: dict[str, SheetSpec] = {
    **{spec.key: spec for spec in SHEETS},
    **{spec.label: spec for spec in SHEETS},
}
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
LIST_SEPARATORS = re.compile(r"[,，、;；]")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")

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
