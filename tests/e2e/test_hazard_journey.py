"""The hazard journey in chromium (issue 4 §7): a general hazard from report to closed, in Chinese.

The enterprise's safety manager works on a phone (390×844), the department's staff member at a
desk. Every page on the way is screenshotted to ``var/artifacts/journey-NN-<step>.png`` and checked
for untranslated English; the phone pages are also checked to fit the screen's width.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone, translation
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.journey_helpers import Journey, log_in, open_menu_link
from tests.hazards.personas import build_world, photo
from workflows.hazards.models import Hazard, HazardTask, Source, Stage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "journey-Secret-2026"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
CODE = re.compile(r"^\d{6}-\d{4}-\d{6}$")
# The timeline of a general hazard, in the Chinese the catalog gives EVENT_ACTIONS.
TIMELINE = [
    ("report", "登记"),
    ("route", "分派"),
    ("triage", "分派确认"),
    ("rectify", "报告整改完成"),
    ("verify_pass", "验收通过"),
]


@pytest.fixture(autouse=True)
def _sessions_without_sqlite_lock_contention(settings: Any) -> None:
    """On SQLite, do not rewrite the session row on every request.

    The hazard page loads its thumbnails in parallel; with ``SESSION_SAVE_EVERY_REQUEST`` each of
    those requests UPDATEs the same session row, and SQLite's table lock then fails one of them
    ("database table is locked: django_session") — a broken thumbnail that PostgreSQL (CI), whose
    row locks make the updates wait, does not show. On PostgreSQL the production setting is kept.
    """
    if connection.vendor == "sqlite":
        settings.SESSION_SAVE_EVERY_REQUEST = False


def _photo_file(directory: Path, name: str, color: str) -> Path:
    """A real JPEG on disk, for ``set_input_files`` (the same bytes the service tests upload)."""
    path = directory / name
    path.write_bytes(photo(name, color).read())
    return path


def _thumbnails_loaded(page: Page, selector: str) -> None:
    """Every thumbnail of ``selector`` was served by the scope-checking view and decoded."""
    images = page.locator(selector)
    expect(images.first).to_be_visible()
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "sel => { const els = [...document.querySelectorAll(sel)];"
        " return els.length > 0 && els.every(i => i.complete && i.naturalWidth > 0); }",
        arg=selector,
    )


def test_general_hazard_from_phone_report_to_closed(
    page: Page, browser: Browser, live_server: Any, artifacts: Path, tmp_path: Path
) -> None:
    """Report (phone) → claim and triage (desk) → rectify with an after-photo (phone) → verify
    "passed" by a colleague who is not the reporter (desk) → closed, with the complete timeline."""
    world = build_world()
    for person in (world.safety_manager, world.colleague):
        person.set_password(PASSWORD)
        person.save()
    base = live_server.url
    with translation.override("zh-hans"):
        closed = str(Stage.CLOSED.label)
    before = _photo_file(tmp_path, "before-leak.jpg", "red")
    after = _photo_file(tmp_path, "after-fixed.jpg", "green")
    journey = Journey(
        artifacts=artifacts,
        data={
            world.safety_manager.username,
            world.colleague.username,
            world.enterprise.uscc,
            before.name,
            after.name,
        },
    )
    for old in artifacts.glob("journey-*.png"):
        old.unlink()

    # --- 1. the safety manager reports a hazard with a photo, on a phone --------------------------
    manager = page
    journey.watch(manager, "safety manager")
    log_in(
        manager,
        base,
        username=world.safety_manager.username,
        password=PASSWORD,
        journey=journey,
        step="manager-login",
    )
    journey.step(manager, "manager-workbench", phone=True)
    open_menu_link(manager, "隐患")
    expect(manager).to_have_url(f"{base}/hazards/")
    journey.step(manager, "manager-ledger", phone=True)
    open_menu_link(manager, "登记隐患")
    expect(manager).to_have_url(f"{base}/hazards/report/")
    # One enterprise to report for: the form opens directly, as a self-check.
    expect(manager.locator("main")).to_contain_text(world.enterprise.name)
    expect(manager.locator("select[name=source]")).to_have_count(0)
    manager.fill("input[name=title]", "储罐区法兰渗漏")
    manager.fill("textarea[name=description]", "2号储罐出口法兰处有液体渗漏，地面有积液。")
    manager.fill("input[name=location]", "储罐区2号罐")
    manager.check("input[name=grade][value=general]")
    manager.set_input_files("input[name=before_photos]", before)
    journey.step(manager, "manager-report-form", phone=True)
    manager.locator("main form button[type=submit]").click()

    expect(manager).to_have_url(re.compile(rf"^{re.escape(base)}/hazards/\d+/$"))
    code = manager.locator(".sc-code").inner_text().strip()
    assert CODE.match(code), code
    journey.data.add(code)
    hazard = Hazard.objects.get(code=code)
    assert hazard.stage == Stage.TRIAGE
    assert hazard.source == Source.SELF_CHECK
    assert hazard.found_by_id == world.safety_manager.pk
    assert hazard.department_id == world.emergency.pk  # routed to the county's lead department
    assert hazard.attachments.filter(kind="before_photo").count() == 1
    expect(manager.locator(".sc-messages")).to_contain_text(code)
    expect(manager.locator(".sc-record__title")).to_have_text("储罐区法兰渗漏")
    _thumbnails_loaded(manager, "#evidence .sc-photo img")
    journey.step(manager, "manager-hazard-reported", phone=True)

    # --- 2. department staff claims the triage task from the queue and triages it ---------------
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    staff = desk.new_page()
    staff.set_default_timeout(15_000)
    journey.watch(staff, "department staff")
    try:
        log_in(staff, base, username=world.colleague.username, password=PASSWORD)
        open_menu_link(staff, "隐患办理")
        open_menu_link(staff, "待认领")
        expect(staff).to_have_url(f"{base}/hazard/queue/")
        row = staff.locator("li.sc-q__item").filter(has_text=code)
        expect(row).to_have_count(1)
        journey.step(staff, "staff-queue", phone=False)
        row.get_by_role("button", name="认领", exact=True).click()
        expect(staff.locator("li.sc-q__item").filter(has_text=code)).to_have_count(0)
        triage = HazardTask.objects.get(process_id=hazard.process_id, flow_task_type="HUMAN")
        assert triage.owner_id == world.colleague.pk
        journey.step(staff, "staff-claimed", phone=False)

        open_menu_link(staff, "待办")
        expect(staff).to_have_url(f"{base}/hazard/inbox/")
        row = staff.locator("li.sc-q__item").filter(has_text=code)
        expect(row).to_have_count(1)
        journey.step(staff, "staff-inbox", phone=False)
        row.get_by_role("link", name="办理", exact=True).click()
        expect(staff).to_have_url(re.compile(r"/triage/\d+/execute/$"))
        expect(staff.locator("main")).to_contain_text("储罐区法兰渗漏")
        staff.check("input[name=action][value=confirm]")
        staff.select_option("select[name=grade]", "general")
        deadline = timezone.localdate() + timedelta(days=15)
        staff.fill("input[name=deadline_on]", deadline.isoformat())
        staff.fill("textarea[name=comment]", "情况属实，按一般隐患限期整改。")
        journey.step(staff, "staff-triage-form", phone=False)
        staff.locator("main form button[type=submit]").click()
        staff.wait_for_url(lambda url: "/execute/" not in url)
        hazard.refresh_from_db()
        assert hazard.stage == Stage.RECTIFY
        assert hazard.deadline_on == deadline
        journey.step(staff, "staff-after-triage", phone=False)

        # --- 3. the safety manager rectifies from the enterprise portal, with an after-photo -----
        open_menu_link(manager, "企业端")
        expect(manager).to_have_url(f"{base}/hazards/portal/")
        task = manager.locator("#my-tasks .sc-task[data-node=rectify]").filter(has_text=code)
        expect(task).to_have_count(1)
        expect(task).to_contain_text(deadline.isoformat())
        journey.step(manager, "manager-portal", phone=True)
        task.get_by_role("button", name="认领并办理").click()
        expect(manager).to_have_url(re.compile(r"/rectify/\d+/execute/$"))
        manager.fill("textarea[name=interim_measures]", "设置警戒区，关闭2号罐出口阀。")
        manager.fill("textarea[name=work_done]", "更换法兰垫片并紧固螺栓，清理积液。")
        manager.fill("input[name=cost]", "850")
        manager.set_input_files("input[name=after_photos]", after)
        journey.step(manager, "manager-rectify-form", phone=True)
        manager.locator("main form button[type=submit]").click()
        manager.wait_for_url(lambda url: "/execute/" not in url)
        hazard.refresh_from_db()
        assert hazard.stage == Stage.VERIFY
        assert hazard.attachments.filter(kind="after_photo").count() == 1
        journey.step(manager, "manager-after-rectify", phone=True)

        # --- 4. the colleague (not the reporter) claims the verification and passes it -----------
        open_menu_link(staff, "待认领")
        row = staff.locator("li.sc-q__item").filter(has_text=code)
        expect(row).to_contain_text("验收")
        journey.step(staff, "staff-queue-verify", phone=False)
        row.get_by_role("button", name="认领", exact=True).click()
        expect(staff.locator("li.sc-q__item").filter(has_text=code)).to_have_count(0)
        open_menu_link(staff, "待办")
        staff.locator("li.sc-q__item").filter(has_text=code).get_by_role(
            "link", name="办理", exact=True
        ).click()
        expect(staff).to_have_url(re.compile(r"/verify/\d+/execute/$"))
        staff.check("input[name=passed][value='1']")
        staff.fill("textarea[name=comment]", "现场复查，渗漏已消除。")
        journey.step(staff, "staff-verify-form", phone=False)
        staff.locator("main form button[type=submit]").click()
        staff.wait_for_url(lambda url: "/execute/" not in url)
        hazard.refresh_from_db()
        assert hazard.stage == Stage.CLOSED
        assert hazard.closed_by_id == world.colleague.pk
        journey.step(staff, "staff-after-verify", phone=False)

        staff.goto(f"{base}/hazards/{hazard.pk}/")
        expect(staff.locator(".sc-record .sc-badges")).to_contain_text(closed)
        _thumbnails_loaded(staff, "#evidence .sc-photo img")
        journey.step(staff, "staff-hazard-closed", phone=False)
    finally:
        desk.close()

    # --- 5. the hazard page shows the closed stage, the evidence and the complete timeline -------
    manager.goto(f"{base}/hazards/{hazard.pk}/")
    expect(manager.locator(".sc-code")).to_have_text(code)
    expect(manager.locator(".sc-record .sc-badges")).to_contain_text(closed)
    expect(manager.locator("#actions .sc-task")).to_have_count(0)  # nothing left to do
    items = manager.locator("#timeline li.sc-timeline__item")
    expect(items).to_have_count(len(TIMELINE))
    for index, (action, label) in enumerate(TIMELINE):
        expect(items.nth(index)).to_have_attribute("data-action", action)
        expect(items.nth(index).locator("strong")).to_have_text(label)
    expect(items.nth(0)).to_contain_text(world.safety_manager.full_name)
    expect(items.nth(2)).to_contain_text(world.colleague.full_name)
    expect(items.nth(3)).to_contain_text(world.safety_manager.full_name)
    expect(items.nth(4)).to_contain_text(world.colleague.full_name)
    expect(items.nth(4)).to_contain_text(closed)  # verification passed → closed
    attempt = manager.locator("#rectifications article[data-attempt='1']")
    expect(attempt).to_contain_text("更换法兰垫片并紧固螺栓")
    _thumbnails_loaded(manager, "#evidence .sc-photo img")
    expect(manager.locator("#evidence .sc-photo img")).to_have_count(2)  # before and after
    _thumbnails_loaded(manager, "#rectifications .sc-photo img")
    journey.step(manager, "manager-hazard-closed", phone=True)

    assert not journey.english, "\n" + journey.report()
    assert not journey.problems, "\n" + journey.report()
