"""The importer, admin and demo packages keep the import paths and URL names they had as modules."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Enterprise
from workflows.responsibility import demo, importer
from workflows.responsibility.admin.duty import DutyAdmin
from workflows.responsibility.admin.enterprise import EnterpriseAdmin, PostAdmin
from workflows.responsibility.admin.industry import IndustryAdmin
from workflows.responsibility.models import Duty, Industry, Post


def test_the_importer_package_exports_its_public_names():
    for name in (
        "workbook_import",
        "build_template",
        "read_workbook",
        "WorkbookError",
        "ImportErrorItem",
        "ImportResult",
        "SHEETS",
        "SHEET_ORDER",
        "HELP_SHEET",
        "MESSAGES",
    ):
        assert hasattr(importer, name), name
    assert set(importer.SHEET_ORDER) == {spec.key for spec in importer.SHEETS}
    assert importer.WorkbookError.__module__ == "workflows.responsibility.importer.result"


def test_the_demo_package_exports_the_names_used_elsewhere():
    assert callable(demo.load_organisations)
    assert demo.demo_uscc("141024", 1) == demo.DEMO_COAL_MINE_USCC
    assert demo.demo_uscc("141024", 2) == demo.DEMO_CHEMICAL_PLANT_USCC
    specs = demo.enterprise_specs()
    assert [s.uscc for s in specs[:2]] == [demo.DEMO_COAL_MINE_USCC, demo.DEMO_CHEMICAL_PLANT_USCC]
    assert len({s.uscc for s in specs}) == len(specs)


def test_importing_the_admin_package_registers_every_model_admin():
    assert isinstance(admin.site._registry[Duty], DutyAdmin)
    assert isinstance(admin.site._registry[Industry], IndustryAdmin)
    assert isinstance(admin.site._registry[Post], PostAdmin)
    # The responsibility Enterprise admin replaces the accounts one.
    assert isinstance(admin.site._registry[Enterprise], EnterpriseAdmin)


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("responsibility_duty_coverage", {}, "coverage/"),
        ("responsibility_duty_coverage_download", {"fmt": "csv"}, "coverage/csv/"),
        ("responsibility_duty_import", {}, "import/"),
        ("responsibility_duty_import_template", {}, "import/template/"),
        ("responsibility_duty_explain", {}, "explain/"),
        ("responsibility_duty_industry_history", {"code": "coal"}, "history/coal/"),
        ("responsibility_duty_replace", {"object_id": "7"}, "7/replace/"),
    ],
)
def test_the_duty_pages_keep_their_url_names(name, kwargs, path):
    assert reverse(f"admin:{name}", kwargs=kwargs) == f"/admin/responsibility/duty/{path}"


def test_the_shared_breadcrumbs_link_the_title_only_when_asked():
    context = {"title": "导入", "app_url": "/a/", "duty_changelist_url": "/d/"}
    plain = render_to_string("admin/responsibility/includes/breadcrumbs.html", context)
    linked = render_to_string(
        "admin/responsibility/includes/breadcrumbs.html", {**context, "title_url": "/i/"}
    )
    assert 'href="/a/"' in plain
    assert 'href="/d/"' in plain
    assert 'href="/i/"' not in plain
    assert '<a href="/i/">导入</a>' in linked
