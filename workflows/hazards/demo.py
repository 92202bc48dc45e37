"""Demo hazards: every stage of the lifecycle, in several departments and enterprises of the demo city.

Each demo hazard is a ``Scenario`` — the report and then the steps people took — played through the
services (``workflows.hazards.services``) by the demo logins of ``workflows.responsibility.demo``, so
the processes, tasks, audit events, copy notices and evidence are exactly what real use produces.

Idempotent: a demo hazard is recognised by its natural key (enterprise, title) — the titles below are
specific enough that nobody else files them — and a scenario already present is skipped, whatever
happened to the hazard since. Each scenario runs in its own transaction, so an interrupted load
resumes where it stopped. The major-hazard criteria clauses and the local grade scale are seeded here
too (by their natural keys).

Local grades: 一级 is the most severe (as with 一级重大危险源 and most enterprise practice) and maps to
a major hazard; 二级 and 三级 subdivide general hazards.

Time: a hazard is *found* in the past (``found_at`` spread over the last 60 days), but services rightly
refuse past deadlines, so the few overdue demo hazards get their deadline moved into the past after
the fact (a ``Backdate`` step). Audit events keep the time they were really written: the trail is
append-only, even for demo data.

Clocks: the services open a deadline row per open stage as the scenarios are played — all of them
due in the future, since everything was played just now. ``_demo_clocks`` then (demo only) moves the
rectification clock of each backdated hazard to its backdated deadline, and makes the stage clock of
the ``NEAR_DUE`` hazards fall due tomorrow, both with their next action due now: the first sweep
after start-up (Celery beat, every minute) sends the reminders and escalations.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from accounts.models import Department, Enterprise, Membership, User
from workflows.deadlines.models import Deadline
from workflows.deadlines.policy import end_of_day, local_date
from workflows.responsibility.models import Industry, Post

from . import services
from .deadlines import CLOCKED, SUBJECT
from .models import CriteriaClause, Extension, Grade, Hazard, LocalGrade, Source, Stage
from .selectors import active_task

# --- catalogues ----------------------------------------------------------------------------------

COAL_STANDARD = "煤矿重大事故隐患判定标准（应急管理部令第4号）"
TRADE_STANDARD = "工贸企业重大事故隐患判定标准（应急管理部令第10号）"
HAZCHEM_STANDARD = "化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）"

# (standard, clause, industry code, text) — the clause texts abridged from the published standards.
# Coal: the 15 categories of 第三条 numbered 1–15; 危化 (安监总管三〔2017〕121号): its 20 items;
# 工贸: article.item (e.g. 11.3 = 第十一条第（三）项).
CLAUSES: tuple[tuple[str, str, str, str], ...] = (
    (COAL_STANDARD, "1", "coal", "超能力、超强度或者超定员组织生产"),
    (COAL_STANDARD, "2", "coal", "瓦斯超限作业"),
    (COAL_STANDARD, "4", "coal", "高瓦斯矿井未建立瓦斯抽采系统和监控系统，或者系统不能正常运行"),
    (COAL_STANDARD, "5", "coal", "通风系统不完善、不可靠"),
    (COAL_STANDARD, "6", "coal", "有严重水患，未采取有效措施"),
    (COAL_STANDARD, "10", "coal", "使用明令禁止使用或者淘汰的设备、工艺"),
    (COAL_STANDARD, "11", "coal", "煤矿没有双回路供电系统"),
    (
        TRADE_STANDARD,
        "3.2",
        "industry_trade",
        "特种作业人员未按照规定经专门的安全作业培训并取得相应资格，上岗作业",
    ),
    (
        TRADE_STANDARD,
        "11.1",
        "industry_trade",
        "粉尘爆炸危险场所设置在非框架结构的多层建（构）筑物内，或者粉尘爆炸危险场所内设有员工宿舍、"
        "会议室、办公室、休息室等人员聚集场所",
    ),
    (
        TRADE_STANDARD,
        "11.3",
        "industry_trade",
        "干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施",
    ),
    (
        TRADE_STANDARD,
        "13.2",
        "industry_trade",
        "未落实有限空间作业审批，或者未执行“先通风、再检测、后作业”要求，或者作业现场未设置监护人员",
    ),
    (
        HAZCHEM_STANDARD,
        "5",
        "hazchem",
        "构成一级、二级重大危险源的危险化学品罐区未实现紧急切断功能；涉及毒性气体、液化气体、剧毒液体的"
        "一级、二级重大危险源的危险化学品罐区未配备独立的安全仪表系统",
    ),
    (HAZCHEM_STANDARD, "6", "hazchem", "全压力式液化烃储罐未按国家标准设置注水措施"),
    (
        HAZCHEM_STANDARD,
        "12",
        "hazchem",
        "涉及可燃和有毒有害气体泄漏的场所未按国家标准设置检测报警装置，爆炸危险场所未按国家标准安装"
        "使用防爆电气设备",
    ),
    (HAZCHEM_STANDARD, "15", "hazchem", "安全阀、爆破片等安全附件未正常投用"),
)

# (code, name, statutory grade, sort order)
LOCAL_GRADES: tuple[tuple[str, str, str, int], ...] = (
    ("level1", "一级隐患", Grade.MAJOR.value, 10),
    ("level2", "二级隐患", Grade.GENERAL.value, 20),
    ("level3", "三级隐患", Grade.GENERAL.value, 30),
)


def _load_catalogue() -> int:
    """Seed the criteria clauses and local grades that are missing; existing rows are left alone."""
    industries = dict(Industry.objects.values_list("code", "pk"))
    have = set(CriteriaClause.objects.values_list("standard", "code"))
    clauses = [
        CriteriaClause(standard=standard, code=code, industry_id=industries[industry], text=text)
        for standard, code, industry, text in CLAUSES
        if (standard, code) not in have
    ]
    CriteriaClause.objects.bulk_create(clauses)
    graded = set(LocalGrade.objects.values_list("code", flat=True))
    grades = [
        LocalGrade(code=code, name=name, statutory_grade=grade, sort_order=order)
        for code, name, grade, order in LOCAL_GRADES
        if code not in graded
    ]
    LocalGrade.objects.bulk_create(grades)
    return len(clauses) + len(grades)


# --- scenario steps ------------------------------------------------------------------------------
# People are demo usernames, or "@<department code>" for the generated staff member of a department.


@dataclass(frozen=True)
class Claim:
    """Take the open department task into ``user``'s inbox."""

    user: str


@dataclass(frozen=True)
class Triage:
    user: str
    grade: str = Grade.GENERAL.value
    deadline_days: int | None = None  # from today; None = the policy default
    clause: tuple[str, str] | None = None  # (standard, clause code)
    local_grade: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class Handover:
    user: str
    department: str  # department code
    reason: str


@dataclass(frozen=True)
class PlanSubmit:
    user: str
    goal: str
    measures: str
    funds: str
    materials: str
    responsible_org: str
    responsible_people: str
    deadline_days: int
    safety_measures: str
    contingency: str


@dataclass(frozen=True)
class PlanReview:
    user: str
    approve: bool
    comment: str = ""


@dataclass(frozen=True)
class Rectify:
    user: str
    work_done: str
    interim_measures: str = ""
    cost: str = "0"
    photos: int = 1


@dataclass(frozen=True)
class ExtensionRequest:
    user: str
    days_later: int  # after the current deadline
    reason: str


@dataclass(frozen=True)
class ExtensionDecide:
    user: str
    approve: bool
    reason: str = ""


@dataclass(frozen=True)
class Verify:
    user: str
    passed: bool
    comment: str = ""


@dataclass(frozen=True)
class Listing:
    user: str
    level: str
    comment: str = ""


@dataclass(frozen=True)
class Close:
    user: str
    comment: str = ""


@dataclass(frozen=True)
class Withdraw:
    user: str
    reason: str


@dataclass(frozen=True)
class Backdate:
    """Demo only: move the rectification deadline ``days_ago`` days into the past (overdue)."""

    days_ago: int


Step = (
    Claim
    | Triage
    | Handover
    | PlanSubmit
    | PlanReview
    | Rectify
    | ExtensionRequest
    | ExtensionDecide
    | Verify
    | Listing
    | Close
    | Withdraw
    | Backdate
)


@dataclass(frozen=True)
class Scenario:
    key: str  # short label drawn on the photos
    enterprise: str  # USCC or exact name
    title: str
    description: str
    location: str
    source: str
    reporter: str | None  # None: a monitoring system
    found_days_ago: float
    grade: str = Grade.GENERAL.value
    finder_name: str = ""
    post: str = ""  # code of the responsible post
    photos: int = 1
    steps: tuple[Step, ...] = ()


COAL_MINE = "91141024MA0K51CLKM"  # 洪洞县某甲煤业有限公司 (demo logins qy_*)
CHEMICAL_PLANT = "91141024MA079Y9AUL"  # 洪洞县某甲化工有限公司 (demo logins hg_*)
COAL_MINE_B = "洪洞县某乙煤业有限公司"
COKING = "洪洞县某甲焦化有限公司"
BUILDER = "洪洞县某甲建筑工程有限公司"
GAS = "洪洞县某甲燃气有限公司"
GAS_YAODU = "临汾市尧都区某甲燃气有限公司"
MACHINERY = "洪洞县某甲机械制造有限公司"

# Principals of generated enterprises, by enterprise: their username is looked up, not hard-coded.
PRINCIPAL = "principal"


SCENARIOS: tuple[Scenario, ...] = (
    # --- awaiting triage ---------------------------------------------------------------------
    Scenario(
        key="D01",
        enterprise=COAL_MINE,
        title="1302综采工作面液压支架立柱漏液、初撑力不足",
        description=(
            "班前检查发现1302综采工作面45#～52#液压支架立柱漏液，实测初撑力18～20MPa，低于作业规程"
            "规定的24MPa，存在局部冒顶风险。已停止该段推移，加强顶板观测。"
        ),
        location="1302综采工作面45#～52#支架",
        source=Source.SELF_CHECK,
        reporter="qy_safety",
        found_days_ago=0.8,
        post="workshop_head",
    ),
    Scenario(
        key="D02",
        enterprise=COAL_MINE,
        title="1305回风巷甲烷传感器超限报警（1.12%）",
        description=(
            "安全监控系统报警：1305回风巷T2甲烷传感器监测值1.12%，超过1.0%的报警值，持续6分钟，"
            "已自动断电。需核查超限原因及现场处置情况。"
        ),
        location="1305回风巷T2甲烷传感器处",
        source=Source.MONITORING,
        reporter=None,
        finder_name="煤矿安全监控系统",
        found_days_ago=0.2,
        photos=0,
        steps=(Claim("hd_nyj_staff"),),
    ),
    Scenario(
        key="D03",
        enterprise=GAS_YAODU,
        title="群众举报：小区调压箱周边有明显燃气异味",
        description=(
            "市民通过12345热线反映，滨河路某小区3号楼东侧燃气调压箱周边近两日有明显燃气异味，"
            "担心泄漏，请燃气主管部门核查处置。"
        ),
        location="尧都区滨河路某小区3号楼东侧调压箱",
        source=Source.TIP_OFF,
        reporter="aqb_office",
        finder_name="群众举报（12345热线）",
        found_days_ago=1.5,
        photos=0,
    ),
    # --- plan and plan approval (major) ------------------------------------------------------
    Scenario(
        key="D04",
        enterprise=COAL_MINE,
        title="二采区回风上山局部冒顶堵塞，采区未形成独立回风系统",
        description=(
            "检查发现二采区回风上山K12～K15段局部冒顶，巷道有效断面不足设计的三分之一，采区回风经"
            "联络巷串入1303工作面，采区通风系统不完善、不可靠。"
        ),
        location="二采区回风上山K12～K15段",
        source=Source.ROUTINE,
        reporter="nyj_staff",
        found_days_ago=6,
        grade=Grade.MAJOR,
        photos=2,
        steps=(
            Triage(
                "nyj_head",
                Grade.MAJOR,
                deadline_days=60,
                clause=(COAL_STANDARD, "5"),
                local_grade="level1",
                comment="判定为重大事故隐患，二采区停止采掘作业，责令编制治理方案。",
            ),
        ),
    ),
    Scenario(
        key="D05",
        enterprise=CHEMICAL_PLANT,
        title="甲醇罐区可燃气体检测报警器未投用",
        description=(
            "“四不两直”暗查发现甲醇罐区6台可燃气体检测报警器中4台处于停用状态，报警信号未接入控制室"
            "DCS；该罐区构成二级重大危险源。"
        ),
        location="甲醇罐区T-101～T-104",
        source=Source.UNANNOUNCED,
        reporter="yjj_staff",
        found_days_ago=12,
        grade=Grade.MAJOR,
        steps=(
            Triage(
                "yjj_head",
                Grade.MAJOR,
                deadline_days=45,
                clause=(HAZCHEM_STANDARD, "12"),
                local_grade="level1",
                comment="判定为重大事故隐患，责令编制治理方案报市应急管理局审批。",
            ),
            PlanSubmit(
                "hg_principal",
                goal="恢复甲醇罐区全部可燃气体检测报警器运行，报警信号接入DCS并实现声光报警。",
                measures="更换4台故障探头；敷设信号电缆接入DCS；设置高低两级报警并与罐区喷淋联锁。",
                funds="68000",
                materials="报警探头4台、阻燃信号电缆600m由设备部采购。",
                responsible_org="设备部、仪表车间",
                responsible_people="郑国强（总负责）、王立新（现场负责）",
                deadline_days=40,
                safety_measures="整改期间罐区禁止动火，每2小时使用便携式检测仪巡检一次并记录。",
                contingency="执行《甲醇泄漏专项应急预案》，罐区配备应急物资。",
            ),
            PlanReview(
                "yjj_staff",
                approve=False,
                comment="方案未明确整改期间人工巡检频次的责任人，资金来源未落实，请补充后重报。",
            ),
            PlanSubmit(
                "hg_principal",
                goal="恢复甲醇罐区全部可燃气体检测报警器运行，报警信号接入DCS并实现声光报警。",
                measures="更换4台故障探头；敷设信号电缆接入DCS；设置高低两级报警并与罐区喷淋联锁。",
                funds="68000",
                materials="资金从年度安全生产费用中列支；报警探头4台、阻燃信号电缆600m由设备部采购。",
                responsible_org="设备部、仪表车间",
                responsible_people="郑国强（总负责）、王立新（现场负责）、冯淑芬（巡检监督）",
                deadline_days=40,
                safety_measures="整改期间罐区禁止动火，安全管理部每2小时巡检一次并签字记录。",
                contingency="执行《甲醇泄漏专项应急预案》，罐区配备应急物资。",
            ),
        ),
    ),
    # --- rectifying ----------------------------------------------------------------------------
    Scenario(
        key="D06",
        enterprise=CHEMICAL_PLANT,
        title="甲醇输送管道法兰静电跨接线断开",
        description=(
            "合成车间至罐区的甲醇输送管道DN100法兰处静电跨接线断开3处，静电接地电阻实测大于100Ω。"
        ),
        location="合成车间东侧管廊",
        source=Source.SELF_CHECK,
        reporter="hg_safety",
        found_days_ago=9,
        post="workshop_head",
        steps=(
            Triage("hd_yjj_staff", deadline_days=7, comment="限期7日内完成整改。"),
            ExtensionRequest(
                "hg_safety",
                days_later=20,
                reason=(
                    "防爆型静电接地监测报警器需厂家定制，到货周期约20天；期间已临时恢复跨接线，"
                    "每班检测接地电阻。"
                ),
            ),
        ),
    ),
    Scenario(
        key="D07",
        enterprise=COAL_MINE,
        title="井下中央变电所高压开关柜漏电保护装置失效",
        description="检查发现井下中央变电所6号高压开关柜漏电保护试验不动作，选择性漏电保护功能失效。",
        location="井下中央变电所6号高压开关柜",
        source=Source.ROUTINE,
        reporter="hd_nyj_staff",
        found_days_ago=16,
        steps=(
            Triage("hd_nyj_head", deadline_days=5, comment="限期5日内整改。"),
            ExtensionRequest(
                "qy_safety",
                days_later=15,
                reason="需更换综合保护装置，厂家备件到货约10天，停电更换须结合周检修安排。",
            ),
            ExtensionDecide(
                "hd_nyj_head", approve=True, reason="同意延期，期间每日进行漏电试验并记录。"
            ),
        ),
    ),
    Scenario(
        key="D08",
        enterprise=BUILDER,
        title="塔式起重机标准节连接螺栓松动、缺失",
        description="某小区二期项目3号楼QTZ80塔式起重机第5、6标准节连接处2颗高强螺栓缺失、4颗松动。",
        location="某小区二期项目3号楼塔吊",
        source=Source.ROUTINE,
        reporter="hd_zjj_staff",
        found_days_ago=10,
        steps=(
            Triage("hd_zjj_staff", deadline_days=3, comment="该塔吊立即停止使用，3日内整改。"),
            ExtensionRequest(
                PRINCIPAL, days_later=10, reason="塔吊安装单位人员紧张，申请延期10日。"
            ),
            ExtensionDecide(
                "hd_zjj_head",
                approve=False,
                reason="整改工作量小，塔吊已停用，不予延期，请按期完成。",
            ),
        ),
    ),
    Scenario(
        key="D09",
        enterprise=GAS,
        title="中压燃气管道被违章建筑占压",
        description=(
            "城镇燃气安全专项整治检查发现，新华街某小区南门中压燃气管道上方搭建彩钢板房约20平方米，"
            "占压管道约8米。"
        ),
        location="新华街某小区南门中压管道",
        source=Source.CAMPAIGN,
        reporter="hd_zjj_staff",
        found_days_ago=27,
        steps=(
            Triage("hd_zjj_staff", deadline_days=10, comment="限期10日内消除占压。"),
            Rectify(
                PRINCIPAL,
                work_done="已书面告知违建业主，协调拆除彩钢板房。",
                interim_measures="管道两侧设置警示标志和围挡，巡线人员每日巡查两次，配备便携式燃气检测仪。",
                cost="3500",
            ),
            Verify(
                "hd_zjj_head",
                passed=False,
                comment="复查发现彩钢板房仅拆除一半，管道上方仍有约4米占压，整改不到位。",
            ),
            Backdate(days_ago=2),
        ),
    ),
    Scenario(
        key="D10",
        enterprise=CHEMICAL_PLANT,
        title="液氨储罐安全阀超期未校验",
        description="检查发现液氨储罐V-0201顶部安全阀校验标签显示有效期已过三个月，铅封完好，现场未见泄漏。",
        location="液氨储罐区V-0201",
        source=Source.ROUTINE,
        reporter="hd_yjj_staff",
        found_days_ago=20,
        steps=(
            Handover(
                "hd_yjj_staff",
                "141024-market",
                "安全阀属压力容器安全附件，依据《特种设备安全法》由市场监管部门监督检查，"
                "移交洪洞县市场监督管理局处理。",
            ),
            Triage("hd_scj_staff", deadline_days=10, comment="责令限期送检校验。"),
            # Far enough back that the ladder has reached the department head (督办函, +3
            # working days) as well as the at-due chase.
            Backdate(days_ago=8),
        ),
    ),
    Scenario(
        key="D11",
        enterprise=MACHINERY,
        title="抛丸车间干式除尘系统未采取任何爆炸防控措施",
        description=(
            "粉尘涉爆专项检查发现，抛丸车间铝合金铸件抛丸工序的干式袋式除尘器未设置泄爆、惰化、抑爆等"
            "任一种爆炸防控措施，且未设置锁气卸灰装置。"
        ),
        location="抛丸车间袋式除尘器",
        source=Source.CAMPAIGN,
        reporter="yjj_staff",
        found_days_ago=30,
        grade=Grade.MAJOR,
        steps=(
            Triage(
                "yjj_head",
                Grade.MAJOR,
                deadline_days=40,
                clause=(TRADE_STANDARD, "11.3"),
                comment="判定为重大事故隐患，抛丸工序停止作业。",
            ),
            PlanSubmit(
                PRINCIPAL,
                goal="除尘系统具备泄爆和隔爆功能，消除粉尘爆炸风险。",
                measures="除尘器加装泄爆片和无焰泄爆装置，进出口设置隔爆阀，加装星型锁气卸灰阀。",
                funds="120000",
                materials="企业自有资金；设备由具备资质的厂家供货安装。",
                responsible_org="设备动力部",
                responsible_people="企业主要负责人（总负责）、设备动力部部长",
                deadline_days=35,
                safety_measures="整改期间抛丸工序停产，每日清扫积尘，车间禁止动火。",
                contingency="执行《粉尘爆炸专项应急预案》。",
            ),
            PlanReview("yjj_head", approve=True, comment="同意治理方案，按期完成。"),
        ),
    ),
    # --- awaiting verification ---------------------------------------------------------------
    Scenario(
        key="D12",
        enterprise=COKING,
        title="焦炉煤气管道区域防爆电气设备防爆面锈蚀",
        description=(
            "异地交叉执法检查发现，2号焦炉地下室煤气管道区域3台防爆接线盒防爆面锈蚀、紧固螺栓缺失，"
            "失去防爆性能。"
        ),
        location="2号焦炉地下室",
        source=Source.CROSS_JURISDICTION,
        reporter="@141023-emergency",
        found_days_ago=25,
        steps=(
            Triage("hd_yjj_staff", deadline_days=15),
            Rectify(
                PRINCIPAL,
                work_done="更换3台防爆接线盒，补齐紧固螺栓，并对同区域防爆电气设备全面排查。",
                cost="4200",
                photos=2,
            ),
        ),
    ),
    Scenario(
        key="D13",
        enterprise=COAL_MINE,
        title="主斜井带式输送机机尾防护栏缺失",
        description="主斜井带式输送机机尾滚筒处防护栏缺失，人员行走通道距滚筒不足0.8m，存在卷入风险。",
        location="主斜井带式输送机机尾",
        source=Source.SELF_CHECK,
        reporter="qy_safety",
        found_days_ago=8,
        steps=(
            Triage("hd_nyj_staff", deadline_days=7),
            Rectify("qy_safety", work_done="加装1.2m高钢制防护栏并悬挂警示牌。", cost="1800"),
            Claim("hd_nyj_head"),
        ),
    ),
    # --- awaiting close-out (major, listed at city level) --------------------------------------
    Scenario(
        key="D14",
        enterprise=COAL_MINE,
        title="1305掘进工作面瓦斯超限后未停止作业",
        description=(
            "“四不两直”暗查调阅监控记录发现，1305掘进工作面T1甲烷传感器监测值达1.5%，超限后未按规定"
            "停止作业、撤出人员，继续掘进约40分钟。"
        ),
        location="1305运输顺槽掘进工作面",
        source=Source.UNANNOUNCED,
        reporter="nyj_staff",
        found_days_ago=50,
        grade=Grade.MAJOR,
        photos=2,
        steps=(
            Triage(
                "nyj_head",
                Grade.MAJOR,
                deadline_days=30,
                clause=(COAL_STANDARD, "2"),
                local_grade="level1",
                comment="判定为重大事故隐患，1305掘进工作面停止作业。",
            ),
            Listing("aqb_office", "city", "市安委办挂牌督办。"),
            PlanSubmit(
                "qy_principal",
                goal="查清超限原因，完善局部通风和瓦斯监控断电，杜绝超限作业。",
                measures="更换局部通风机为双风机双电源；校准全部甲烷传感器；开展全员瓦斯防治培训；追究相关人员责任。",
                funds="350000",
                materials="企业安全生产费用列支；风机2台、传感器12台。",
                responsible_org="通风科、机电科、安全管理部",
                responsible_people="孙主要（总负责）、周德胜（现场负责）",
                deadline_days=28,
                safety_measures="整改期间该工作面停止作业，瓦斯检查员每班检查3次。",
                contingency="执行《瓦斯事故专项应急预案》。",
            ),
            PlanReview("nyj_staff", approve=True, comment="同意治理方案。"),
            Rectify(
                "qy_deputy",
                work_done="更换双风机双电源局部通风机，校准12台甲烷传感器，完成全员培训，对相关责任人追责。",
                interim_measures="工作面停止作业，设置栅栏和警标。",
                cost="342000",
                photos=2,
            ),
            Verify("nyj_head", passed=True, comment="现场复查合格，同意提请销号。"),
        ),
    ),
    # --- closed --------------------------------------------------------------------------------
    Scenario(
        key="D15",
        enterprise=CHEMICAL_PLANT,
        title="罐区防火堤排水阀处于常开状态",
        description="巡检发现甲醇罐区防火堤雨排水阀处于常开状态，一旦泄漏物料可经雨水系统外流。",
        location="甲醇罐区防火堤东北角",
        source=Source.SELF_CHECK,
        reporter="hg_safety",
        found_days_ago=55,
        steps=(
            Triage("hd_yjj_staff", deadline_days=3, local_grade="level3"),
            Rectify(
                "hg_safety",
                work_done="关闭排水阀并加锁，制定雨排水阀开关管理制度，排水时专人监护。",
                cost="200",
            ),
            Verify("hd_yjj_staff", passed=True, comment="复查合格。"),
        ),
    ),
    Scenario(
        key="D16",
        enterprise=BUILDER,
        title="深基坑临边防护栏杆缺失",
        description="某商住楼项目深基坑（开挖深度6.5m）北侧约30m临边未设置防护栏杆和安全网。",
        location="某商住楼项目基坑北侧",
        source=Source.UNANNOUNCED,
        reporter="hd_zjj_head",
        found_days_ago=35,
        steps=(
            Triage("hd_zjj_staff", deadline_days=3, local_grade="level2"),
            Rectify(
                PRINCIPAL,
                work_done="按规范设置1.2m高防护栏杆、挡脚板并挂设密目安全网。",
                cost="6800",
            ),
            Verify("hd_zjj_staff", passed=True, comment="复查合格，准予销号。"),
        ),
    ),
    Scenario(
        key="D17",
        enterprise=CHEMICAL_PLANT,
        title="液化烃球罐未按标准设置注水措施",
        description="液化石油气球罐区2台1000m³全压力式球罐未设置注水措施，不符合GB 50160要求。",
        location="液化烃球罐区R-201、R-202",
        source=Source.ROUTINE,
        reporter="yjj_staff",
        found_days_ago=58,
        grade=Grade.MAJOR,
        steps=(
            Triage(
                "yjj_head",
                Grade.MAJOR,
                deadline_days=30,
                clause=(HAZCHEM_STANDARD, "6"),
                local_grade="level1",
            ),
            Listing("hd_aqb", "county", "县安委办挂牌督办。"),
            PlanSubmit(
                "hg_principal",
                goal="两台液化烃球罐具备注水功能，满足GB 50160要求。",
                measures="增设注水管线及快速接头，与消防水系统连通；编制注水操作规程并组织演练。",
                funds="190000",
                materials="企业安全生产费用列支。",
                responsible_org="设备部、安全管理部",
                responsible_people="郑国强（总负责）、王立新（现场负责）",
                deadline_days=25,
                safety_measures="整改期间球罐降低液位运行，禁止动火作业。",
                contingency="执行《液化烃泄漏专项应急预案》。",
            ),
            PlanReview("yjj_head", approve=True, comment="同意治理方案。"),
            Rectify(
                "hg_safety",
                work_done="两台球罐增设注水管线及快速接头并与消防水系统连通，编制注水操作规程并完成演练。",
                cost="186000",
                photos=2,
            ),
            Verify("yjj_head", passed=True, comment="复查合格。"),
            Close("aqb_office", "同意销号，予以摘牌。"),
        ),
    ),
    # --- withdrawn -----------------------------------------------------------------------------
    Scenario(
        key="D18",
        enterprise=COAL_MINE_B,
        title="举报煤矿井下使用国家明令淘汰的非防爆电气设备",
        description="群众来信反映洪洞县某乙煤业有限公司井下二采区仍在使用非防爆照明灯具和非防爆开关。",
        location="二采区（举报所述）",
        source=Source.TIP_OFF,
        reporter="hd_aqb",
        finder_name="群众举报（来信）",
        found_days_ago=14,
        photos=0,
        steps=(
            Withdraw(
                "hd_nyj_head",
                "经现场核查，该矿二采区在用照明灯具和开关均为防爆型且具有煤安标志，举报情况不属实，撤销登记。",
            ),
        ),
    ),
)


# Demo hazards whose stage clock is made to fall due tomorrow (a reminder is due at once), with the
# stage their scenario leaves them in: a plan the coal mine owes (its people are reminded) and a
# verification the county energy bureau's head has claimed (he is).
NEAR_DUE: dict[str, str] = {"D04": Stage.PLAN.value, "D13": Stage.VERIFY.value}
NEAR_DUE_DAYS = 1


# --- playing ------------------------------------------------------------------------------------


def load_hazards() -> int:
    """Seed the catalogues and play every missing scenario; returns the rows created here (clauses,
    local grades and hazards — not the events, tasks and evidence that come with a hazard). Then
    set the demo clocks (``_demo_clocks``: rows changed, not created, so not counted)."""
    created = _load_catalogue()
    enterprises = _enterprises()
    present = set(
        Hazard.objects.filter(title__in=[s.title for s in SCENARIOS]).values_list(
            "enterprise_id", "title"
        )
    )
    cast = _Cast()
    # Oldest first, so that the sequential codes follow the order in which hazards were found.
    for scenario in sorted(SCENARIOS, key=lambda s: -s.found_days_ago):
        enterprise = enterprises[scenario.enterprise]
        if (enterprise.pk, scenario.title) in present:
            continue
        with transaction.atomic():
            _play(scenario, enterprise, cast)
        created += 1
    _demo_clocks(enterprises)
    return created


@transaction.atomic
def _demo_clocks(enterprises: dict[str, Enterprise]) -> int:
    """DEMO ONLY: make the deadline rows tell the story the demo dates tell; returns rows moved.

    Services open every clock from "now", and they refuse deadlines in the past, so after playing:

    - a backdated (overdue) hazard still rectifying gets its open rectification clock due at the end
      of its backdated deadline day (Asia/Shanghai) — the ladder's rungs are then due;
    - each ``NEAR_DUE`` hazard still in its scenario's stage gets that stage's first clock due at
      the end of the day after the stage opened — its reminders are then due;

    both with ``next_action_at`` now, so the next sweep fires them. These are deliberate queryset
    updates on demo rows only — never do this to real clocks (an extension goes through
    ``deadline_reschedule``, which bumps the generation). Idempotent: a clock already at its target
    due moment is left alone (the sweep may have moved its step on since), so loading again
    changes nothing.
    """
    now = timezone.now()
    today = local_date(now)
    keys = {s.key: (enterprises[s.enterprise].pk, s.title) for s in SCENARIOS}
    backdated = {s.key for s in SCENARIOS if any(isinstance(step, Backdate) for step in s.steps)}
    wanted = backdated | NEAR_DUE.keys()
    hazards = {
        (h.enterprise_id, h.title): h
        for h in Hazard.objects.filter(title__in=[keys[k][1] for k in wanted])
    }
    moved = 0
    for key in sorted(wanted):
        hazard = hazards.get(keys[key])
        if hazard is None or hazard.stage not in CLOCKED:
            continue
        if key in backdated:
            if (
                hazard.stage != Stage.RECTIFY
                or not hazard.deadline_on
                or hazard.deadline_on >= today
            ):
                continue  # moved on since it was loaded, or not overdue: nothing to show
            target = end_of_day(hazard.deadline_on)
            stage = CLOCKED[Stage.RECTIFY]
        else:
            if hazard.stage != NEAR_DUE[key]:
                continue  # moved on since it was loaded: its new clocks are real ones
            stage = CLOCKED[hazard.stage]
            row = _open_clock(hazard, stage)
            if row is None or row.generation != 1:
                continue
            target = end_of_day(local_date(row.opened_at) + timedelta(days=NEAR_DUE_DAYS))
        moved += (
            Deadline.objects.filter(
                subject_type=SUBJECT, subject_id=hazard.pk, stage=stage, open=True
            )
            .exclude(due_at=target)
            .update(due_at=target, next_action_at=now)
        )
    return moved


def _open_clock(hazard: Hazard, stage: str) -> Deadline | None:
    return Deadline.objects.filter(
        subject_type=SUBJECT, subject_id=hazard.pk, stage=stage, open=True
    ).first()


def _enterprises() -> dict[str, Enterprise]:
    keys = {s.enterprise for s in SCENARIOS}
    found = {e.uscc: e for e in Enterprise.objects.filter(uscc__in=keys)}
    found |= {e.name: e for e in Enterprise.objects.filter(name__in=keys)}
    if keys - found.keys():
        raise RuntimeError(_("Load the demo organisations before the demo hazards."))
    return found


class _Cast:
    """The demo people by username (or ``@department``), each fetched once."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}

    def get(self, name: str, enterprise: Enterprise) -> User:
        if name == PRINCIPAL:
            if enterprise.principal is None:
                raise RuntimeError(_("Load the demo organisations before the demo hazards."))
            name = enterprise.principal.username
        if name not in self._users:
            if name.startswith("@"):
                membership = (
                    Membership.objects.select_related("user")
                    .filter(department__code=name[1:])
                    .order_by("pk")
                    .first()
                )
                if membership is None:
                    raise RuntimeError(_("Load the demo organisations before the demo hazards."))
                self._users[name] = membership.user
            else:
                self._users[name] = User.objects.get(username=name)
        return self._users[name]


def _play(scenario: Scenario, enterprise: Enterprise, cast: _Cast) -> Hazard:
    """Report the scenario's hazard, then take each of its steps through the services."""
    now = timezone.now()
    post = Post.objects.get(enterprise=enterprise, code=scenario.post) if scenario.post else None
    hazard = services.hazard_report(
        reporter=cast.get(scenario.reporter, enterprise) if scenario.reporter else None,
        enterprise=enterprise,
        title=scenario.title,
        description=scenario.description,
        location=scenario.location,
        source=scenario.source,
        grade=scenario.grade,
        found_at=now - timedelta(days=scenario.found_days_ago),
        post=post,
        finder_name=scenario.finder_name,
        before_photos=[
            photo(f"{scenario.key} BEFORE {n}", before=True) for n in range(1, scenario.photos + 1)
        ],
        photo_required=scenario.photos > 0,
    )
    for step in scenario.steps:
        _take(step, hazard=hazard, scenario=scenario, cast=cast)
        hazard.refresh_from_db()
    return hazard


def _take(step: Step, *, hazard: Hazard, scenario: Scenario, cast: _Cast) -> None:
    """One step of a scenario, as the person it names would take it in the UI."""
    today = timezone.localdate()
    user = None if isinstance(step, Backdate) else cast.get(step.user, hazard.enterprise)
    if isinstance(step, Claim):
        task = next(
            t
            for node in ("triage", "approve_plan", "verify", "close_out")
            if (t := active_task(hazard=hazard, node_name=node)) is not None
        )
        services.task_claim(task=task, user=user)
    elif isinstance(step, Triage):
        services.hazard_triage(
            hazard=hazard,
            user=user,
            grade=step.grade,
            deadline_on=today + timedelta(days=step.deadline_days)
            if step.deadline_days is not None
            else None,
            clause=CriteriaClause.objects.get(standard=step.clause[0], code=step.clause[1])
            if step.clause
            else None,
            local_grade=LocalGrade.objects.get(code=step.local_grade) if step.local_grade else None,
            comment=step.comment,
        )
    elif isinstance(step, Handover):
        services.hazard_handover(
            hazard=hazard,
            user=user,
            department=Department.objects.get(code=step.department),
            reason=step.reason,
        )
    elif isinstance(step, PlanSubmit):
        services.plan_submit(
            hazard=hazard,
            user=user,
            goal=step.goal,
            measures=step.measures,
            funds=Decimal(step.funds),
            materials=step.materials,
            responsible_org=step.responsible_org,
            responsible_people=step.responsible_people,
            deadline_on=today + timedelta(days=step.deadline_days),
            safety_measures=step.safety_measures,
            contingency=step.contingency,
        )
    elif isinstance(step, PlanReview):
        services.plan_review(hazard=hazard, user=user, approve=step.approve, comment=step.comment)
    elif isinstance(step, Rectify):
        services.rectification_submit(
            hazard=hazard,
            user=user,
            work_done=step.work_done,
            interim_measures=step.interim_measures,
            cost=Decimal(step.cost),
            after_photos=[
                photo(f"{scenario.key} AFTER {n}", before=False) for n in range(1, step.photos + 1)
            ],
        )
    elif isinstance(step, ExtensionRequest):
        assert hazard.deadline_on is not None  # noqa: S101 - rectifying hazards have a deadline
        services.extension_request(
            hazard=hazard,
            user=user,
            requested_on=hazard.deadline_on + timedelta(days=step.days_later),
            reason=step.reason,
        )
    elif isinstance(step, ExtensionDecide):
        services.extension_decide(
            extension=hazard.extensions.get(status=Extension.Status.PENDING),
            user=user,
            approve=step.approve,
            reason=step.reason,
        )
    elif isinstance(step, Verify):
        services.rectification_verify(
            hazard=hazard, user=user, passed=step.passed, comment=step.comment
        )
    elif isinstance(step, Listing):
        services.hazard_list(hazard=hazard, user=user, level=step.level, comment=step.comment)
    elif isinstance(step, Close):
        services.hazard_close(hazard=hazard, user=user, comment=step.comment)
    elif isinstance(step, Withdraw):
        services.hazard_withdraw(hazard=hazard, user=user, reason=step.reason)
    else:
        # DEMO-ONLY BACKDATING: services refuse deadlines in the past (rightly), so an overdue demo
        # hazard gets its deadline moved back after it was set. Never do this outside demo data.
        Hazard.objects.filter(pk=hazard.pk).update(
            deadline_on=today - timedelta(days=step.days_ago)
        )


# --- photos -------------------------------------------------------------------------------------

BEFORE_COLOURS = ((178, 34, 34), (204, 102, 0), (153, 51, 102))
AFTER_COLOURS = ((46, 125, 50), (0, 105, 92), (21, 101, 192))


def photo(label: str, *, before: bool) -> SimpleUploadedFile:
    """A small JPEG with a drawn label (ASCII: the default font has no CJK glyphs), as uploaded."""
    colours = BEFORE_COLOURS if before else AFTER_COLOURS
    colour = colours[sum(map(ord, label)) % len(colours)]
    image = Image.new("RGB", (480, 360), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 467, 347), outline=(255, 255, 255), width=4)
    if before:  # a warning triangle
        draw.polygon(((240, 90), (320, 230), (160, 230)), outline=(255, 235, 59), width=8)
        draw.line(((240, 135), (240, 190)), fill=(255, 235, 59), width=8)
        draw.ellipse((234, 204, 246, 216), fill=(255, 235, 59))
    else:  # a tick
        draw.line(((170, 170), (225, 225), (320, 110)), fill=(255, 255, 255), width=14)
    font = _font()
    draw.text((32, 280), label, fill=(255, 255, 255), font=font)
    draw.text((32, 30), "SafeChain demo", fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    name = label.lower().replace(" ", "-") + ".jpg"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def _font() -> Any:
    try:
        return ImageFont.load_default(size=28)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()
