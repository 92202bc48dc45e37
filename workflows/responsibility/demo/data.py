"""The demo city as plain data: regions, departments, the duty map, enterprises, people and posts.

Everything here is deterministic (the n-th generated enterprise or person is always the same), so
loading twice finds the same natural keys; ``loader`` writes it to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from accounts.models import DepartmentKind, Enterprise
from accounts.uscc import ALPHABET, uscc_check_character

from ..models import Duty, Level

# --- Regions -------------------------------------------------------------------------------------

CITY = ("141000", "临汾市")
# The 17 county-level divisions of 临汾市 (real codes and names, GB/T 2260).
COUNTIES: tuple[tuple[str, str], ...] = (
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
# Townships of a few counties: real-sounding names, plausible codes (county code + 3 digits: streets
# 0xx, towns 1xx, townships 2xx), all flagged fictional.
TOWNSHIPS: dict[str, tuple[tuple[str, str], ...]] = {
    "141002": (
        ("141002001", "解放路街道"),
        ("141002002", "水塔街街道"),
        ("141002100", "屯里镇"),
        ("141002101", "乔李镇"),
    ),
    "141024": (
        ("141024100", "大槐树镇"),
        ("141024101", "甘亭镇"),
        ("141024102", "曲亭镇"),
        ("141024103", "广胜寺镇"),
        ("141024200", "堤村乡"),
    ),
    "141081": (
        ("141081001", "路东街道"),
        ("141081002", "浍滨街道"),
        ("141081003", "上马街道"),
        ("141081200", "新田乡"),
    ),
    "141082": (
        ("141082001", "鼓楼街道"),
        ("141082002", "开元街道"),
        ("141082100", "白龙镇"),
        ("141082101", "辛置镇"),
    ),
}

# --- Departments ---------------------------------------------------------------------------------

# Name after the region's name, by department kind (city level; counties override a few below).
DEPARTMENT_NAMES: dict[str, str] = {
    "emergency": "应急管理局",
    "housing": "住房和城乡建设局",
    "transport": "交通运输局",
    "market": "市场监督管理局",
    "fire": "消防救援支队",
    "energy": "能源局",
    "mine_safety": "矿山安全监察局",
    "water": "水利局",
    "education": "教育局",
    "health": "卫生健康委员会",
    "culture_tourism": "文化和旅游局",
    "agriculture": "农业农村局",
    "natural_resources": "自然资源局",
    "public_security": "公安局",
    "industry_it": "工业和信息化局",
    "commerce": "商务局",
    "development_reform": "发展和改革委员会",
    "committee_office": "安委办",
}
COUNTY_DEPARTMENT_NAMES = {**DEPARTMENT_NAMES, "fire": "消防救援大队", "health": "卫生健康局"}
COUNTY_KINDS = (
    "emergency",
    "housing",
    "transport",
    "market",
    "fire",
    "energy",
    "committee_office",
    "education",
    "health",
    "culture_tourism",
)
# 侯马市 has no energy bureau: its energy-led duties fall back to 临汾市能源局 (a recorded fallback).
COUNTY_KINDS_ABSENT = {("141081", "energy")}

# --- Duty map (三管三必须) ------------------------------------------------------------------------

C, M = Level.COUNTY.value, Level.CITY.value
BASE_DECISION = "临安委〔2024〕5号"
BASE_FROM = date(2024, 4, 1)
ENERGY_STORAGE_DECISION = "临安委〔2025〕3号"
ENERGY_STORAGE_FROM = date(2025, 6, 1)

Levels = tuple[str, str]  # (level for general hazards, level for major hazards)

# (industry, lead kind and levels, cooperating kinds and levels in chain order), all from BASE_*.
# Sub-industries without rows (工贸's 冶金…商贸) inherit 工贸's; 焦化 has rows of its own.
# 新兴行业 itself has none, so that 电动自行车充电 cannot inherit a lead from it (see below).
DUTY_MAP: tuple[tuple[str, tuple[str, Levels], tuple[tuple[str, Levels], ...]], ...] = (
    ("coal", ("energy", (C, M)), (("mine_safety", (M, M)), ("emergency", (C, M)))),
    ("non_coal_mine", ("emergency", (C, M)), (("natural_resources", (C, M)),)),
    (
        "hazchem",
        ("emergency", (C, M)),
        (("market", (C, M)), ("fire", (C, M)), ("transport", (C, M))),
    ),
    (
        "coking",
        ("emergency", (C, M)),
        (("industry_it", (M, M)), ("market", (C, M)), ("fire", (C, M)), ("transport", (C, M))),
    ),
    ("fireworks", ("emergency", (C, M)), (("public_security", (C, M)), ("market", (C, M)))),
    ("industry_trade", ("emergency", (C, M)), (("industry_it", (M, M)),)),
    ("construction", ("housing", (C, M)), ()),
    ("urban_gas", ("housing", (C, M)), (("market", (C, M)), ("fire", (C, M)))),
    ("road_transport", ("transport", (C, M)), (("public_security", (C, M)),)),
    ("special_equipment", ("market", (C, M)), ()),
    ("fire_key_units", ("fire", (C, M)), ()),
    ("water_conservancy", ("water", (C, M)), ()),
    ("electric_power", ("energy", (C, M)), ()),
    ("scenic_spots", ("culture_tourism", (C, M)), (("market", (C, M)), ("fire", (C, M)))),
    ("schools", ("education", (C, M)), (("fire", (C, M)),)),
    ("medical", ("health", (C, M)), (("fire", (C, M)),)),
    (
        "script_entertainment",
        ("culture_tourism", (C, M)),
        (("fire", (C, M)), ("public_security", (C, M))),
    ),
)


@dataclass(frozen=True)
class DutySpec:
    industry: str
    kind: str
    role: str
    levels: Levels
    valid_from: date
    valid_to: date | None
    decision: str
    position: int


def duty_specs() -> list[DutySpec]:
    """Every demo duty row, including the expired one and the new industry's rows."""
    lead, coop = Duty.Role.LEAD.value, Duty.Role.COOPERATING.value
    specs = []
    for industry, (lead_kind, lead_levels), cooperating in DUTY_MAP:
        specs.append(
            DutySpec(industry, lead_kind, lead, lead_levels, BASE_FROM, None, BASE_DECISION, 0)
        )
        specs += [
            DutySpec(industry, kind, coop, levels, BASE_FROM, None, BASE_DECISION, position)
            for position, (kind, levels) in enumerate(cooperating, start=1)
        ]
    # The new industry: 储能电站 assigned by committee decision from 2025-06-01 (业务相近: 能源).
    specs += [
        DutySpec(
            "energy_storage",
            kind,
            role,
            (C, M),
            ENERGY_STORAGE_FROM,
            None,
            ENERGY_STORAGE_DECISION,
            pos,
        )
        for pos, (kind, role) in enumerate((("energy", lead), ("emergency", coop), ("fire", coop)))
    ]
    # THE DELIBERATE BLIND SPOT: 电动自行车充电 was given to 商务 in 2024, and 临安委〔2024〕12号
    # ended that on 2024-12-31 (商务 regulates no charging facilities) without naming a successor.
    # Since 2025 it has no lead row at all, so its chains fall to the committee office and the
    # coverage report lists it. Fire rescue still cooperates. Do not "fix" this in the demo.
    specs += [
        DutySpec(
            "ebike_charging",
            "commerce",
            lead,
            (C, M),
            BASE_FROM,
            date(2024, 12, 31),
            BASE_DECISION,
            0,
        ),
        DutySpec("ebike_charging", "fire", coop, (C, M), BASE_FROM, None, BASE_DECISION, 1),
    ]
    return specs


# --- Enterprises ---------------------------------------------------------------------------------

LABELS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"  # 某甲, 某乙 …: placeholder 字号
PARKS = ("工业园区", "经济技术开发区", "循环经济园区")
ROADS = ("府前街", "建设路", "新华街", "滨河路", "鼓楼路", "向阳路", "兴业大道", "迎宾路")
VILLAGES = ("东庄村", "西沟村", "南岭村", "北坡村", "后河村", "石门村", "柳树湾村")
ALL_COUNTIES = tuple(code for code, _name in COUNTIES)
MINING = ("141029", "141033", "141025", "141026", "141024", "141082", "141034", "141023", "141002")

# (industries, primary first; how many; counties they are spread over; name ending; kind of site)
ENTERPRISE_GROUPS: tuple[tuple[tuple[str, ...], int, tuple[str, ...], str, str], ...] = (
    (("coal",), 30, (*MINING, "141027", "141022"), "煤业有限公司", "village"),
    (("coking", "special_equipment"), 10, ("141024", "141023", "141002", "141081", "141082", "141029", "141026"), "焦化有限公司", "park"),
    (("hazchem", "special_equipment", "fire_key_units"), 12, ("141024", "141081", "141002", "141023", "141021", "141022"), "化工有限公司", "park"),
    (("fireworks",), 4, ("141002", "141021", "141081", "141031"), "烟花爆竹有限公司", "village"),
    (("non_coal_mine",), 8, ("141023", "141022", "141027", "141025", "141029", "141028"), "矿业有限公司", "village"),
    (("metallurgy", "special_equipment"), 8, ("141023", "141081", "141021", "141022", "141002"), "钢铁有限公司", "park"),
    (("nonferrous",), 3, ("141081", "141021", "141023"), "铝业有限公司", "park"),
    (("building_materials",), 8, ("141002", "141024", "141023", "141082", "141021", "141027"), "建材有限公司", "park"),
    (("machinery", "special_equipment"), 8, ("141002", "141081", "141024", "141082"), "机械制造有限公司", "park"),
    (("light_industry",), 8, ("141002", "141081", "141021", "141022", "141030", "141031"), "食品有限公司", "park"),
    (("textile", "fire_key_units"), 3, ("141002", "141024", "141081"), "纺织有限公司", "park"),
    (("commerce_trade", "fire_key_units"), 6, ("141002", "141081", "141082", "141024"), "商贸有限公司", "street"),
    (("construction", "special_equipment"), 20, ALL_COUNTIES, "建筑工程有限公司", "street"),
    (("urban_gas", "special_equipment"), 8, ("141002", "141024", "141081", "141082", "141023", "141021", "141022", "141029"), "燃气有限公司", "street"),
    (("road_transport",), 12, ALL_COUNTIES, "运输有限公司", "street"),
    (("special_equipment",), 4, ("141002", "141081", "141024", "141082"), "电梯工程有限公司", "street"),
    (("fire_key_units", "commerce_trade", "special_equipment"), 8, ("141002", "141002", "141002", "141081", "141082", "141024", "141023", "141029"), "购物中心有限公司", "street"),
    (("water_conservancy",), 3, ("141002", "141024", "141034"), "水务有限公司", "street"),
    (("electric_power",), 5, ("141081", "141002", "141024", "141082", "141033"), "热电有限公司", "park"),
    (("scenic_spots", "special_equipment"), 8, ("141028", "141024", "141002", "141031", "141032", "141026", "141033", "141022"), "旅游开发有限公司", "village"),
    (("schools", "fire_key_units"), 12, ALL_COUNTIES, "中学", "street"),
    (("medical", "fire_key_units", "special_equipment"), 10, ALL_COUNTIES, "医院", "street"),
    (("ebike_charging",), 2, ("141002", "141081"), "新能源科技有限公司", "street"),
    (("energy_storage", "electric_power"), 1, ("141081",), "储能科技有限公司", "park"),
    (("script_entertainment", "fire_key_units"), 2, ("141002", "141081"), "文化娱乐有限公司", "street"),
)  # fmt: skip


def demo_uscc(county_code: str, serial: int) -> str:
    """A valid fictional USCC: 91 (enterprise) + county code + 9 characters derived from ``serial``
    + the GB 32100-2015 check character."""
    # Any multiplier prime to 31 maps serials one-to-one onto the 31**6 six-character codes.
    value = (serial * 548_508_707 + 104_729) % len(ALPHABET) ** 6
    digits = ""
    for _ in range(6):
        value, rest = divmod(value, len(ALPHABET))
        digits = ALPHABET[rest] + digits
    first17 = f"91{county_code}MA0{digits}"
    return first17 + uscc_check_character(first17)


DEMO_COAL_MINE_USCC = demo_uscc("141024", 1)  # 洪洞县某甲煤业有限公司, 堤村乡
DEMO_CHEMICAL_PLANT_USCC = demo_uscc("141024", 2)  # 洪洞县某甲化工有限公司, 甘亭镇


@dataclass(frozen=True)
class EnterpriseSpec:
    uscc: str
    name: str
    region: str  # county or township code
    address: str
    status: str
    industries: tuple[str, ...]
    principal: str | None  # username


DEMO_ENTERPRISES = (
    EnterpriseSpec(
        DEMO_COAL_MINE_USCC,
        "洪洞县某甲煤业有限公司",
        "141024200",
        "山西省临汾市洪洞县堤村乡后河村",
        Enterprise.Status.ACTIVE.value,
        ("coal", "special_equipment"),
        "qy_principal",
    ),
    EnterpriseSpec(
        DEMO_CHEMICAL_PLANT_USCC,
        "洪洞县某甲化工有限公司",
        "141024101",
        "山西省临汾市洪洞县甘亭镇工业园区8号",
        Enterprise.Status.ACTIVE.value,
        ("hazchem", "special_equipment", "fire_key_units"),
        "hg_principal",
    ),
)

# --- People --------------------------------------------------------------------------------------

# (Chinese, pinyin) for generated people: usernames are pinyin-like, full names Chinese.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("赵", "zhao"), ("黄", "huang"),
    ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"), ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"),
    ("何", "he"), ("郭", "guo"), ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"), ("郑", "zheng"), ("谢", "xie"),
    ("韩", "han"), ("唐", "tang"), ("冯", "feng"), ("于", "yu"), ("董", "dong"), ("程", "cheng"), ("曹", "cao"), ("袁", "yuan"),
    ("邓", "deng"), ("许", "xu"), ("傅", "fu"), ("沈", "shen"), ("曾", "zeng"), ("彭", "peng"), ("吕", "lv"), ("苏", "su"),
)  # fmt: skip
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("海燕", "haiyan"), ("国庆", "guoqing"), ("丽娟", "lijuan"), ("文斌", "wenbin"),
    ("晓明", "xiaoming"), ("红霞", "hongxia"), ("永刚", "yonggang"), ("春生", "chunsheng"), ("俊峰", "junfeng"), ("慧敏", "huimin"),
    ("德明", "deming"), ("玉兰", "yulan"), ("建平", "jianping"), ("卫东", "weidong"), ("晋生", "jinsheng"), ("秀英", "xiuying"),
    ("鹏飞", "pengfei"), ("瑞芳", "ruifang"), ("振华", "zhenhua"), ("雪梅", "xuemei"), ("宏伟", "hongwei"), ("桂英", "guiying"),
    ("利军", "lijun"), ("彦斌", "yanbin"), ("晓红", "xiaohong"), ("保平", "baoping"), ("云龙", "yunlong"), ("少华", "shaohua"),
    ("天佑", "tianyou"),
)  # fmt: skip


def demo_person(number: int) -> tuple[str, str, str]:
    """(username, full name, mobile) of the ``number``-th generated person (pinyin-like username)."""
    surname, surname_py = SURNAMES[number % len(SURNAMES)]
    given, given_py = GIVEN_NAMES[(number * 7) % len(GIVEN_NAMES)]
    return f"{surname_py}{given_py}{number:03d}", surname + given, demo_mobile(number)


def demo_mobile(number: int) -> str:
    """The invented mobile number of the ``number``-th generated person."""
    return f"{('139', '158', '186')[number % 3]}{35_700_000 + number:08d}"


# Documented logins (names in workflows.ops.demo.DEMO_LOGINS): where each one belongs.
# Organisation: a department code or an enterprise USCC.
LOGIN_MEMBERSHIPS: dict[str, tuple[tuple[str, str], ...]] = {
    "aqb_office": (("141000-committee_office", "committee"),),
    "yjj_staff": (("141000-emergency", "staff"),),
    "yjj_head": (("141000-emergency", "head"),),
    "zjj_staff": (("141000-housing", "staff"),),
    "zjj_head": (("141000-housing", "head"),),
    "nyj_staff": (("141000-energy", "staff"),),
    "nyj_head": (("141000-energy", "head"),),
    "scj_staff": (("141000-market", "staff"),),
    "scj_head": (("141000-market", "head"),),
    "hd_aqb": (("141024-committee_office", "committee"),),
    "hd_yjj_staff": (("141024-emergency", "staff"),),
    "hd_yjj_head": (("141024-emergency", "head"),),
    "hd_zjj_staff": (("141024-housing", "staff"),),
    "hd_zjj_head": (("141024-housing", "head"),),
    "hd_nyj_staff": (("141024-energy", "staff"),),
    "hd_nyj_head": (("141024-energy", "head"),),
    "hd_scj_staff": (("141024-market", "staff"),),
    "hd_scj_head": (("141024-market", "head"),),
    "dcx_staff": (("141024200-township_gov", "staff"),),
    "gtz_staff": (("141024101-township_gov", "staff"),),
    "qy_principal": ((DEMO_COAL_MINE_USCC, "principal"),),
    "qy_deputy": ((DEMO_COAL_MINE_USCC, "deputy"),),
    "qy_safety": ((DEMO_COAL_MINE_USCC, "safety_manager"),),
    "qy_worker": ((DEMO_COAL_MINE_USCC, "employee"),),
    "hg_principal": ((DEMO_CHEMICAL_PLANT_USCC, "principal"),),
    "hg_deputy": ((DEMO_CHEMICAL_PLANT_USCC, "deputy"),),
    "hg_safety": ((DEMO_CHEMICAL_PLANT_USCC, "safety_manager"),),
    "hg_worker": ((DEMO_CHEMICAL_PLANT_USCC, "employee"),),
}
ADMIN_CONSOLE_ROLES = {"head", "committee"}

# --- Enterprise posts (全员安全生产责任制) ---------------------------------------------------------

POST_DUTIES = {
    "principal": (
        "建立健全并落实本单位全员安全生产责任制，加强安全生产标准化建设；组织制定并实施安全生产规章制度和"
        "操作规程；组织制定并实施安全生产教育和培训计划；保证安全生产投入的有效实施；组织建立并落实安全风险"
        "分级管控和隐患排查治理双重预防工作机制，督促、检查安全生产工作，及时消除生产安全事故隐患；组织制定"
        "并实施生产安全事故应急救援预案；及时、如实报告生产安全事故。"
    ),
    "deputy_safety": (
        "协助主要负责人履行安全生产职责，分管安全生产工作；组织重大事故隐患治理方案的编制和实施，"
        "落实整改措施、责任、资金、时限和预案；每月至少组织一次全面安全检查，督促隐患按期整改销号。"
    ),
    "safety_dept": (
        "组织或者参与拟订安全生产规章制度、操作规程和生产安全事故应急救援预案；组织或者参与安全生产教育和"
        "培训，如实记录培训情况；督促落实重大危险源的安全管理措施；组织或者参与应急救援演练；检查安全生产"
        "状况，及时排查生产安全事故隐患，提出改进安全生产管理的建议；制止和纠正违章指挥、强令冒险作业、"
        "违反操作规程的行为；督促落实安全生产整改措施。"
    ),
    "workshop_head": (
        "对本车间（区队）的安全生产负直接责任：落实岗位安全操作规程，班前检查作业环境和设备，发现隐患"
        "立即处理或者报告；组织班组安全活动和岗位培训；按期完成本车间隐患整改。"
    ),
}
# (code, title, reports to) — generic titles; the demo enterprises get their own below.
POSTS: tuple[tuple[str, str, str | None], ...] = (
    ("principal", "主要负责人", None),
    ("deputy_safety", "分管安全副总经理", "principal"),
    ("safety_dept", "安全管理部负责人", "deputy_safety"),
    ("workshop_head", "车间主任", "deputy_safety"),
)
# Titles and holders of the posts of the enterprises that have demo logins.
DEMO_POSTS: dict[str, dict[str, tuple[str, str]]] = {
    DEMO_COAL_MINE_USCC: {
        "principal": ("矿长（主要负责人）", "qy_principal"),
        "deputy_safety": ("分管安全副矿长", "qy_deputy"),
        "safety_dept": ("安全管理部部长", "qy_safety"),
        "workshop_head": ("综采队队长", "qy_worker"),
    },
    DEMO_CHEMICAL_PLANT_USCC: {
        "principal": ("总经理（主要负责人）", "hg_principal"),
        "deputy_safety": ("分管安全副总经理", "hg_deputy"),
        "safety_dept": ("安全管理部部长", "hg_safety"),
        "workshop_head": ("合成车间主任", "hg_worker"),
    },
}
# Other enterprises with a post structure (principal post held, the others still vacant): the
# first enterprise of each of these primary industries.
POSTED_INDUSTRIES = ("coking", "hazchem", "metallurgy", "machinery", "urban_gas", "energy_storage")

# --- Generated rows ------------------------------------------------------------------------------


def department_rows() -> list[tuple[str, str, str, str]]:
    """(code, name, kind, region code) of every demo department."""
    city_code, city_name = CITY
    rows = [
        (f"{city_code}-{kind}", city_name + name, kind, city_code)
        for kind, name in DEPARTMENT_NAMES.items()
    ]
    for code, name in COUNTIES:
        rows += [
            (f"{code}-{kind}", name + COUNTY_DEPARTMENT_NAMES[kind], kind, code)
            for kind in COUNTY_KINDS
            if (code, kind) not in COUNTY_KINDS_ABSENT
        ]
    names = dict(COUNTIES)
    for county, townships in TOWNSHIPS.items():
        for code, name in townships:
            office = "办事处" if name.endswith("街道") else "人民政府"
            rows.append(
                (
                    f"{code}-{DepartmentKind.TOWNSHIP_GOV}",
                    names[county] + name + office,
                    "township_gov",
                    code,
                )
            )
    return rows


def enterprise_specs() -> list[EnterpriseSpec]:
    """The two demo enterprises, then ~200 generated ones spread over counties and townships.

    Deterministic: the n-th enterprise always gets the same USCC, name, place and principal.
    """
    names = dict(COUNTIES)
    specs = list(DEMO_ENTERPRISES)
    used: dict[tuple[str, str], int] = {
        ("141024", "煤业有限公司"): 1,
        ("141024", "化工有限公司"): 1,
    }
    placed: dict[str, int] = {}
    for industries, count, counties, ending, site in ENTERPRISE_GROUPS:
        for i in range(count):
            serial = len(specs) + 1
            county = counties[i % len(counties)]
            label_no = used.get((county, ending), 0)
            used[(county, ending)] = label_no + 1
            township_no = placed.get(county, 0)
            placed[county] = township_no + 1
            townships = TOWNSHIPS.get(county, ())
            # Every third enterprise of a county with townships stays directly under the county.
            township = (
                townships[township_no % len(townships)]
                if townships and township_no % 3 != 2
                else None
            )
            region, place = (township[0], township[1]) if township else (county, "")
            prefix = "临汾市" + names[county] if county == "141002" else names[county]
            label = LABELS[label_no % len(LABELS)] + (
                "" if label_no < len(LABELS) else str(label_no)
            )
            # The second charging operator has no principal on record yet: coverage shows it.
            no_principal = industries[0] == "ebike_charging" and i == 1
            specs.append(
                EnterpriseSpec(
                    uscc=demo_uscc(county, serial),
                    name=f"{prefix}某{label}{ending}",
                    region=region,
                    address=_address(names[county], place, site, serial),
                    status=_status(serial),
                    industries=industries,
                    principal=None if no_principal else demo_person(serial)[0],
                )
            )
    return specs


def _address(county: str, township: str, site: str, serial: int) -> str:
    where = f"山西省临汾市{county}{township}"
    if site == "village":
        return where + VILLAGES[serial % len(VILLAGES)]
    places = PARKS if site == "park" else ROADS
    return f"{where}{places[serial % len(places)]}{serial % 60 + 1}号"


def _status(serial: int) -> str:
    if serial % 89 == 44:
        return Enterprise.Status.CLOSED.value
    if serial % 23 == 11:
        return Enterprise.Status.SUSPENDED.value
    return Enterprise.Status.ACTIVE.value


def department_staff() -> dict[str, tuple[str, str, str]]:
    """Department code → (username, full name, mobile) of its generated staff member."""
    documented = {org for memberships in LOGIN_MEMBERSHIPS.values() for org, _r in memberships}
    codes = sorted(code for code, *_rest in department_rows() if code not in documented)
    return {code: demo_person(500 + number) for number, code in enumerate(codes)}
