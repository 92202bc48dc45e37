"""Build import workbooks in memory (openpyxl) for the importer tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from io import BytesIO
from typing import Any

import openpyxl

from tests.factories import make_uscc
from workflows.responsibility.importer import SHEETS

SPECS = {spec.key: spec for spec in SHEETS}
Rows = Sequence[Mapping[str, Any]]


def xlsx(
    sheets: Mapping[str, Rows],
    *,
    chinese: bool = False,
    columns: Mapping[str, Sequence[str]] | None = None,
    extra_sheets: Mapping[str, Iterable[Sequence[Any]]] | None = None,
) -> bytes:
    """A workbook with one sheet per key of ``sheets`` (rows as dicts by column key).

    The header lists every column of the sheet (or ``columns[sheet]``), as English keys or, with
    ``chinese``, as the template's Chinese labels — the sheet is then named by its Chinese label too.
    ``extra_sheets`` adds raw sheets (title -> rows of cells) as they are.
    """
    book = openpyxl.Workbook(write_only=True)
    for key, rows in sheets.items():
        spec = SPECS[key]
        keys = list((columns or {}).get(key) or [c.key for c in spec.columns])
        labels = {c.key: c.label for c in spec.columns}
        ws = book.create_sheet(spec.label if chinese else key)
        ws.append([labels[k] if chinese else k for k in keys])
        for row in rows:
            ws.append([row.get(k) for k in keys])
    for title, raw_rows in (extra_sheets or {}).items():
        ws = book.create_sheet(title)
        for raw in raw_rows:
            ws.append(list(raw))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def raw_xlsx(sheets: Mapping[str, Iterable[Sequence[Any]]]) -> bytes:
    """A workbook whose sheets are given cell by cell, header row included."""
    return xlsx({}, extra_sheets=sheets)


USCC_A = make_uscc(1)
USCC_B = make_uscc(2)
USCC_C = make_uscc(3)


def city() -> dict[str, list[dict[str, Any]]]:
    """A small but complete city: every sheet, parents listed after children where the importer
    must sort them out itself."""
    return {
        "regions": [
            {
                "code": "141002001",
                "name": "解放路街道",
                "level": "township",
                "parent_code": "141002",
            },
            {"code": "141000", "name": "临汾市", "level": "city", "parent_code": None},
            {"code": "141002", "name": "尧都区", "level": "county", "parent_code": "141000"},
            {"code": "141081", "name": "侯马市", "level": "county", "parent_code": "141000"},
            {"code": "141002100", "name": "县底镇", "level": "township", "parent_code": "141002"},
        ],
        "department_kinds": [{"code": "urban_management", "name": "城市管理"}],
        "departments": [
            {
                "code": "141000-emergency",
                "name": "临汾市应急管理局",
                "kind": "emergency",
                "region_code": "141000",
            },
            {
                "code": "141000-committee_office",
                "name": "临汾市安委办",
                "kind": "committee_office",
                "region_code": "141000",
            },
            {
                "code": "141002-emergency",
                "name": "尧都区应急管理局",
                "kind": "emergency",
                "region_code": "141002",
            },
            {
                "code": "141002-housing",
                "name": "尧都区住房和城乡建设局",
                "kind": "housing",
                "region_code": "141002",
            },
            {
                "code": "141002-committee_office",
                "name": "尧都区安委办",
                "kind": "committee_office",
                "region_code": "141002",
            },
            {
                "code": "141002001-township_gov",
                "name": "解放路街道办事处",
                "kind": "township_gov",
                "region_code": "141002001",
            },
            {
                "code": "141002-urban_management",
                "name": "尧都区城市管理局",
                "kind": "urban_management",
                "region_code": "141002",
            },
        ],
        "industries": [
            {"code": "outdoor_sports", "name": "户外运动", "parent_code": "leisure"},
            {"code": "leisure", "name": "休闲娱乐", "parent_code": None},
            {"code": "hydrogen", "name": "氢能", "parent_code": "emerging"},
        ],
        "duties": [
            {
                "industry_code": "hazchem",
                "department_kind": "emergency",
                "role": "lead",
                "general_level": "county",
                "major_level": "city",
                "valid_from": date(2024, 1, 1),
                "decision": "临安委〔2024〕5号",
            },
            {
                "industry_code": "hazchem",
                "department_kind": "fire",
                "role": "cooperating",
                "general_level": "county",
                "major_level": "county",
                "valid_from": "2024-01-01",
            },
            {
                "industry_code": "hazchem",
                "department_kind": "market",
                "role": "cooperating",
                "general_level": "county",
                "major_level": "city",
                "valid_from": "2024-01-01",
            },
            {
                "industry_code": "leisure",
                "department_kind": "urban_management",
                "role": "lead",
                "general_level": "county",
                "major_level": "county",
                "valid_from": "2024-03-01",
                "valid_to": "2024-12-31",
                "decision": "临安委〔2024〕9号",
            },
            {
                "industry_code": "leisure",
                "department_kind": "culture_tourism",
                "role": "lead",
                "general_level": "county",
                "major_level": "city",
                "valid_from": "2025-01-01",
                "decision": "临安委〔2025〕1号",
            },
        ],
        "enterprises": [
            {
                "uscc": USCC_A,
                "name": "临汾甲化工有限公司",
                "region_code": "141002001",
                "industry_codes": "coking、hazchem",
                "address": "尧都区解放路1号",
                "principal_username": "li.si",
            },
            {
                "uscc": USCC_B.lower(),
                "name": "临汾乙户外运动有限公司",
                "region_code": "141002",
                "industry_codes": "outdoor_sports",
                "address": "",
                "principal_username": "zhou.qi",
            },
            {
                "uscc": USCC_C,
                "name": "侯马丙建筑有限公司",
                "region_code": "141081",
                "industry_codes": "construction，special_equipment",
                "address": "侯马市新田路8号",
                "principal_username": None,
            },
        ],
        "people": [
            {
                "username": "li.si",
                "full_name": "李四",
                "mobile": "13800000001",
                "org_code": USCC_A,
                "role": "principal",
            },
            {
                "username": "zhou.qi",
                "full_name": "周七",
                "mobile": 13800000002,
                "org_code": USCC_B,
                "role": "principal",
            },
            {
                "username": "chen.ba",
                "full_name": "陈八",
                "mobile": "",
                "org_code": USCC_A,
                "role": "safety_manager",
            },
            {
                "username": "wu.jiu",
                "full_name": "吴九",
                "mobile": "13800000004",
                "org_code": "141002-emergency",
                "role": "head",
            },
            {
                "username": "wu.jiu",
                "full_name": "吴九",
                "mobile": "13800000004",
                "org_code": "141002-committee_office",
                "role": "committee",
            },
            {
                "username": "zheng.shi",
                "full_name": "郑十",
                "mobile": "13800000005",
                "org_code": "141002-emergency",
                "role": "staff",
            },
        ],
        "posts": [
            {
                "enterprise_uscc": USCC_A,
                "code": "P03",
                "title": "车间主任",
                "holder_username": None,
                "reports_to_code": "P02",
                "duties": "负责车间隐患排查。",
            },
            {
                "enterprise_uscc": USCC_A,
                "code": "P01",
                "title": "总经理",
                "holder_username": "li.si",
                "reports_to_code": None,
                "duties": "全面负责本单位安全生产工作。",
            },
            {
                "enterprise_uscc": USCC_A,
                "code": "P02",
                "title": "安全总监",
                "holder_username": "chen.ba",
                "reports_to_code": "P01",
                "duties": "组织隐患排查治理。",
            },
        ],
    }


def enterprises(count: int, *, start: int = 1000) -> dict[str, list[dict[str, Any]]]:
    """``count`` valid enterprises (with a principal each) in one county, on top of its regions."""
    return {
        "regions": [
            {"code": "141000", "name": "临汾市", "level": "city"},
            {"code": "141002", "name": "尧都区", "level": "county", "parent_code": "141000"},
        ],
        "enterprises": [
            {
                "uscc": make_uscc(start + n),
                "name": f"临汾批量企业{n}有限公司",
                "region_code": "141002",
                "industry_codes": "coking,hazchem" if n % 2 else "construction",
                "address": f"尧都区测试路{n}号",
                "principal_username": f"boss{n:05d}",
            }
            for n in range(count)
        ],
        "people": [
            {
                "username": f"boss{n:05d}",
                "full_name": f"负责人{n}",
                "mobile": f"139{n:08d}",
                "org_code": make_uscc(start + n),
                "role": "principal",
            }
            for n in range(count)
        ],
    }
