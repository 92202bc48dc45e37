"""The hazard pages through HTTP: ledger, report form, hazard file, action forms, portal — and the
whole general and major lifecycles driven only through the web pages and viewflow's task URLs."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from tests.factories import EnterpriseFactory, PostFactory, UserFactory, industry, link_industries
from workflows.hazards import evidence, services
from workflows.hazards.models import (
    Attachment,
    CriteriaClause,
    Event,
    Extension,
    Hazard,
    Plan,
    Rectification,
    Stage,
)
from workflows.hazards.pagination import Cursor, InvalidCursor, decode_cursor, encode_cursor
from workflows.hazards.viewsets_pages import HazardPagesViewset

from .personas import photo

OUTSIDERS = ("outsider", "employee_b", "principal_b", "other_staff")
INSIDERS = (
    "inspector",
    "head",
    "colleague",
    "market_staff",
    "committee",
    "principal",
    "safety_manager",
)
_numbers = itertools.count(500)


# --- helpers -------------------------------------------------------------------------------------


def login(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def detail_url(hazard: Hazard) -> str:
    return reverse("hazards:detail", args=[hazard.pk])


def report(
    world: Any, *, grade: str = "general", reporter: Any = None, source: str = "routine"
) -> Hazard:
    return services.hazard_report(
        reporter=reporter or world.inspector,
        enterprise=world.enterprise,
        title="储罐区可燃气体报警器失效",
        description="2号储罐区可燃气体报警器未通电。",
        location="2号储罐区",
        source=source,
        grade=grade,
        before_photos=[photo()],
    )


def make_hazard(world: Any, *, save: bool = True, **fields: Any) -> Hazard:
    """A ledger row written directly (fast); for list, filter and pagination tests."""
    n = next(_numbers)
    enterprise = fields.pop("enterprise", world.enterprise)
    values: dict[str, Any] = {
        "code": f"141000-2026-{n:06d}",
        "city": world.city,
        "county": enterprise.region.at_level("county"),
        "year": 2026,
        "sequence": n,
        "enterprise": enterprise,
        "industry": industry("hazchem"),
        "title": f"隐患{n}",
        "description": "描述",
        "location": "厂区",
        "found_at": timezone.now() - timedelta(hours=n),
        "source": "routine",
        "grade": "general",
        "stage": Stage.RECTIFY,
        "department": world.emergency,
        "deadline_on": timezone.localdate() + timedelta(days=10),
    }
    values.update(fields)
    hazard = Hazard(**values)
    if save:
        hazard.save()
    return hazard


def report_form_data(world: Any, **overrides: Any) -> dict[str, Any]:
    found = timezone.localtime() - timedelta(hours=1)
    data: dict[str, Any] = {
        "enterprise": world.enterprise.pk,
        "source": "unannounced",
        "title": "配电室门未关闭",
        "description": "配电室无人值守且门未上锁。",
        "location": "1号配电室",
        "found_at": found.strftime("%Y-%m-%dT%H:%M"),
        "grade": "general",
        "before_photos": [photo(), photo("second.jpg", "blue")],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def page_tasks(client: Client, hazard: Hazard) -> dict[str, dict[str, Any]]:
    response = client.get(detail_url(hazard))
    assert response.status_code == 200
    return {t["task"].flow_task.name: t for t in response.context["actions"].tasks}


def run_task(client: Client, hazard: Hazard, node: str, data: dict[str, Any]) -> Any:
    """Claim the task through viewflow's assign URL if needed, then POST its execute page."""
    task = page_tasks(client, hazard)[node]
    if task["url"] is None:
        assert task["claim_url"], f"{node}: nothing to claim"
        claimed = client.post(task["claim_url"])
        assert claimed.status_code == 302
        assert claimed["Location"] == detail_url(hazard)  # ?back= brings the user back
        task = page_tasks(client, hazard)[node]
    assert task["url"], f"{node}: the user cannot execute it"
    assert client.get(task["url"]).status_code == 200
    return client.post(task["url"], data)


def actions(hazard: Hazard) -> list[str]:
    return list(
        Event.objects.filter(hazard=hazard).order_by("at", "id").values_list("action", flat=True)
    )


def superuser() -> Any:
    return UserFactory(username="root", full_name="管理员", is_superuser=True, is_staff=True)


# --- who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", INSIDERS)
def test_the_ledger_and_the_hazard_page_render_for_everyone_in_the_chain(world, client, persona):
    hazard = report(world)
    login(client, getattr(world, persona))
    ledger = client.get(reverse("hazards:list"))
    assert ledger.status_code == 200
    assert [h.code for h, _overdue in ledger.context["rows"]] == [hazard.code]
    page = client.get(detail_url(hazard))
    assert page.status_code == 200
    assert page.context["hazard"] == hazard


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_outsiders_and_other_tenants_get_404_everywhere(world, client, persona):
    hazard = rectifying(world)
    extension = services.extension_request(
        hazard=hazard,
        user=world.safety_manager,
        requested_on=hazard.deadline_on + timedelta(days=9),
        reason="备件未到",
    )
    attachment = hazard.attachments.get()
    login(client, getattr(world, persona))
    assert [h for h, _o in client.get(reverse("hazards:list")).context["rows"]] == []
    urls = [
        detail_url(hazard),
        detail_url(hazard) + "?print=1",
        reverse("hazards:extension_request", args=[hazard.pk]),
        reverse("hazards:extension_decide", args=[hazard.pk, extension.pk]),
        reverse("hazards:withdraw", args=[hazard.pk]),
        reverse("hazards:listing", args=[hazard.pk]),
        reverse("hazards:attachment_download", args=[attachment.pk]),
        reverse("hazards:attachment_thumbnail", args=[attachment.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for url in urls[2:6]:
        assert (
            client.post(url, {"reason": "x", "level": "city", "approve": "1"}).status_code == 404
        ), url
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY
    assert not hazard.withdrawn_at
    assert not hazard.listed_on
    exported = client.get(reverse("hazards:export"))
    assert hazard.code not in b"".join(exported.streaming_content).decode("utf-8-sig")


def test_an_extension_of_another_hazard_is_404_even_in_scope(world, client):
    first, second = report(world), report(world)
    for hazard in (first, second):
        services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    hazard = Hazard.objects.get(pk=second.pk)
    extension = services.extension_request(
        hazard=hazard,
        user=world.safety_manager,
        requested_on=hazard.deadline_on + timedelta(days=3),
        reason="等待备件",
    )
    login(client, world.colleague)
    assert (
        client.get(reverse("hazards:extension_decide", args=[first.pk, extension.pk])).status_code
        == 404
    )


# --- the hazard file -----------------------------------------------------------------------------


def test_the_hazard_page_shows_data_chain_evidence_timeline_and_copy_notices(world, client):
    hazard = report(world)
    services.hazard_triage(
        hazard=hazard, user=world.colleague, grade="general", comment="确认一般隐患"
    )
    login(client, world.head)
    response = client.get(detail_url(hazard))
    html = response.content.decode()
    assert hazard.code in html
    assert world.enterprise.uscc in html
    roles = [link["role"] for link in response.context["chain"]]
    assert roles[:3] == ["principal", "lead", "cooperating"]
    assert response.context["chain"][0]["person_name"] == "甲厂长"  # full name, not the username
    assert all(link["basis"] for link in response.context["chain"])
    photo_row = hazard.attachments.get()
    assert reverse("hazards:attachment_thumbnail", args=[photo_row.pk]) in html
    assert reverse("hazards:attachment_download", args=[photo_row.pk]) in html
    timeline = response.context["timeline"]
    assert [item["event"].action for item in timeline] == ["report", "route", "triage"]
    assert timeline[0]["actor"] == "检查员"
    assert timeline[2]["from"] == str(Stage.TRIAGE.label)
    assert timeline[2]["to"] == str(Stage.RECTIFY.label)
    assert "确认一般隐患" in html
    assert world.market.name in html  # the copy notice to the cooperating department
    assert (
        client.get(reverse("hazards:attachment_thumbnail", args=[photo_row.pk])).status_code == 200
    )


def test_the_print_layout_has_the_record_without_navigation(world, client):
    hazard = report(world)
    login(client, world.inspector)
    normal = client.get(detail_url(hazard)).content.decode()
    printed = client.get(detail_url(hazard) + "?print=1").content.decode()
    assert 'id="actions"' in normal
    assert 'id="actions"' not in printed
    assert "vf-page__menu" not in printed
    assert 'id="timeline"' in printed
    assert hazard.code in printed
    assert "hazards.css" in printed  # with its @media print rules


def test_the_hazard_page_query_count_does_not_grow_with_its_history(world, client):
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    login(client, world.colleague)
    client.get(detail_url(hazard))
    with CaptureQueriesContext(connection) as before:
        assert client.get(detail_url(hazard)).status_code == 200
    for n in range(12):
        Event.objects.create(
            hazard=hazard, action="note", actor=world.inspector, comment=f"备注{n}"
        )
    for n in range(4):
        evidence.attachment_store(
            hazard=hazard, kind="other", upload=photo(f"p{n}.jpg"), user=world.inspector
        )
    with CaptureQueriesContext(connection) as after:
        assert client.get(detail_url(hazard)).status_code == 200
    assert len(after.captured_queries) == len(before.captured_queries)
    assert len(before.captured_queries) <= 30, len(before.captured_queries)


# --- the report form -----------------------------------------------------------------------------


def test_an_enterprise_user_reports_a_self_check_with_photos_from_the_phone_form(world, client):
    login(client, world.safety_manager)
    form_page = client.get(reverse("hazards:report"))
    assert form_page.status_code == 200  # one enterprise: straight to the form
    html = form_page.content.decode()
    assert 'capture="environment"' in html
    assert 'accept="image/*"' in html
    assert "multiple" in html
    assert "source" not in form_page.context["form"].fields
    post = PostFactory(enterprise=world.enterprise, holder=world.safety_manager, title="储运班长")
    response = client.post(
        reverse("hazards:report"),
        report_form_data(world, source="routine", grade="major", post=post.pk),
    )
    hazard = Hazard.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(hazard)
    assert hazard.source == "self_check"  # an enterprise cannot pick an inspection source
    assert hazard.grade == "major"
    assert hazard.post == post
    assert hazard.found_by == world.safety_manager
    assert hazard.attachments.filter(kind=Attachment.Kind.BEFORE_PHOTO).count() == 2
    assert actions(hazard) == ["report", "route"]


def test_an_inspector_chooses_the_enterprise_by_uscc_then_reports(world, client):
    neighbour = EnterpriseFactory(region=world.county, name="尧都区某戊建材厂")
    login(client, world.inspector)
    choose = client.get(reverse("hazards:report"))
    assert choose.status_code == 200
    assert world.enterprise in choose.context["enterprise_options"]
    assert neighbour in choose.context["enterprise_options"]  # county-level enterprises too
    assert world.other_enterprise not in choose.context["enterprise_options"]  # another county
    found = client.get(reverse("hazards:report"), {"q": world.enterprise.uscc.lower()})
    assert found.context["matches"] == [world.enterprise]
    assert (
        client.get(reverse("hazards:report"), {"q": world.other_enterprise.uscc}).context["matches"]
        == []
    )
    form_page = client.get(reverse("hazards:report"), {"enterprise": world.enterprise.pk})
    assert form_page.status_code == 200
    assert "source" in form_page.context["form"].fields
    clause = CriteriaClause.objects.filter(industry__code="hazchem").first()
    response = client.post(
        reverse("hazards:report"),
        report_form_data(
            world,
            grade="major",
            clause=clause.pk if clause else None,
            latitude="36.0880",
            longitude="111.5190",
        ),
    )
    assert response.status_code == 302
    hazard = Hazard.objects.get()
    assert hazard.source == "unannounced"
    assert hazard.department == world.city_emergency
    assert str(hazard.latitude) == "36.088000"


def test_an_inspector_cannot_report_for_an_enterprise_outside_the_area(world, client):
    login(client, world.inspector)
    choose = client.get(reverse("hazards:report"), {"enterprise": world.other_enterprise.pk})
    assert choose.templates[0].name == "hazards/report_choose.html"
    response = client.post(
        reverse("hazards:report"), report_form_data(world, enterprise=world.other_enterprise.pk)
    )
    assert response.status_code == 400
    assert not Hazard.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"title": "", "location": ""}, {"title", "location"}),
        ({"latitude": "36.1"}, {"longitude"}),
        ({"latitude": "120", "longitude": "111"}, {"latitude"}),
        ({"found_at": "not a time"}, {"found_at"}),
        ({"source": "self_check"}, {"source"}),  # an inspector does not self-check
        ({"grade": "catastrophic"}, {"grade"}),
        ({"before_photos": None}, {"before_photos"}),  # a photo is required (service rule)
        (
            {"before_photos": [SimpleUploadedFile("x.jpg", b"<script>alert(1)</script>")]},
            {"before_photos"},
        ),
        ({"industry": "999999"}, {"industry"}),
    ],
)
def test_bad_report_input_shows_field_errors_and_creates_nothing(world, client, overrides, fields):
    login(client, world.inspector)
    response = client.post(reverse("hazards:report"), report_form_data(world, **overrides))
    assert response.status_code == 200
    assert fields <= set(response.context["form"].errors)
    assert not Hazard.objects.exists()
    assert not Event.objects.exists()


def test_a_future_discovery_time_is_refused_by_the_service_as_a_field_error(world, client):
    login(client, world.inspector)
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("hazards:report"), report_form_data(world, found_at=future))
    assert "found_at" in response.context["form"].errors
    assert not Hazard.objects.exists()


def test_a_clause_on_a_general_hazard_and_a_post_of_another_enterprise_are_refused(world, client):
    clause = CriteriaClause.objects.first()
    foreign_post = PostFactory(enterprise=EnterpriseFactory(region=world.township))
    login(client, world.inspector)
    data = report_form_data(
        world, post=foreign_post.pk, **({"clause": clause.pk} if clause else {})
    )
    response = client.post(reverse("hazards:report"), data)
    errors = response.context["form"].errors
    assert "post" in errors
    assert clause is None or "clause" in errors
    assert not Hazard.objects.exists()


def test_the_report_form_checks_csrf_after_installing_the_upload_guard(world):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.inspector)
    response = csrf_client.post(reverse("hazards:report"), report_form_data(world))
    assert response.status_code == 403
    assert not Hazard.objects.exists()


def test_an_oversized_photo_is_stopped_by_the_upload_handler(world, client, monkeypatch):
    monkeypatch.setattr(evidence, "MAX_IMAGE_BYTES", 200)
    login(client, world.inspector)
    response = client.post(reverse("hazards:report"), report_form_data(world))
    assert response.status_code == 303  # refused before the view ran; back to the form
    assert not Hazard.objects.exists()
    assert client.get(response["Location"]).context["messages"]


def test_people_without_an_enterprise_or_department_cannot_report(world, client):
    login(client, world.outsider)
    assert client.get(reverse("hazards:report")).status_code == 403
    assert client.post(reverse("hazards:report"), report_form_data(world)).status_code == 403
    assert not Hazard.objects.exists()


def test_an_enterprise_user_with_two_enterprises_chooses_one(world, client):
    second = EnterpriseFactory(region=world.township)
    link_industries(second, "hazchem")
    from accounts.models import Membership

    Membership.objects.create(user=world.safety_manager, enterprise=second, role="safety_manager")
    login(client, world.safety_manager)
    choose = client.get(reverse("hazards:report"))
    assert set(choose.context["enterprise_options"]) == {world.enterprise, second}
    response = client.post(reverse("hazards:report"), report_form_data(world, enterprise=second.pk))
    assert response.status_code == 302
    assert Hazard.objects.get().enterprise == second


# --- the ledger ----------------------------------------------------------------------------------


def codes(response: Any) -> list[str]:
    return [h.code for h, _overdue in response.context["rows"]]


def test_each_ledger_filter_narrows_the_list(world, client):
    today = timezone.localdate()
    base = make_hazard(world, found_at=timezone.now() - timedelta(days=1))
    other_ent = EnterpriseFactory(region=world.other_county, name="曲沃县某丙焦化厂")
    rows = {
        "closed": make_hazard(world, stage=Stage.CLOSED, closed_at=timezone.now()),
        "major": make_hazard(world, grade="major", department=world.city_emergency),
        "self": make_hazard(world, source="self_check"),
        "coal": make_hazard(world, industry=industry("coal")),
        "metallurgy": make_hazard(world, industry=industry("metallurgy")),
        "county": make_hazard(world, enterprise=other_ent, department=world.other_emergency),
        "market": make_hazard(world, department=world.market),
        "overdue": make_hazard(world, deadline_on=today - timedelta(days=1)),
        "old": make_hazard(world, found_at=timezone.now() - timedelta(days=40)),
    }
    fresh = make_hazard(world, found_at=timezone.now())
    make_hazard(
        world, stage=Stage.CLOSED, closed_at=timezone.now(), deadline_on=today - timedelta(days=5)
    )
    login(client, superuser())
    url = reverse("hazards:list")
    assert codes(client.get(url, {"stage": "closed"}))[:1] == [rows["closed"].code]
    assert codes(client.get(url, {"grade": "major"})) == [rows["major"].code]
    assert codes(client.get(url, {"source": "self_check"})) == [rows["self"].code]
    assert codes(client.get(url, {"industry": industry("coal").pk})) == [rows["coal"].code]
    trade = client.get(url, {"industry": industry("industry_trade").pk})
    assert codes(trade) == [rows["metallurgy"].code]  # sub-industries are included
    assert codes(client.get(url, {"county": world.other_county.pk})) == [rows["county"].code]
    assert codes(client.get(url, {"department": world.market.pk})) == [rows["market"].code]
    assert codes(client.get(url, {"overdue": "on"})) == [rows["overdue"].code]  # open ones only
    window = {
        "found_from": (today - timedelta(days=45)).isoformat(),
        "found_to": (today - timedelta(days=30)).isoformat(),
    }
    assert codes(client.get(url, window)) == [rows["old"].code]
    assert codes(client.get(url, {"found_from": today.isoformat()})) == [fresh.code]
    assert base.code in codes(client.get(url, {"found_to": today.isoformat(), "q": base.code}))
    assert codes(client.get(url, {"grade": "general", "department": world.market.pk})) == [
        rows["market"].code
    ]


def test_search_by_code_enterprise_title_and_uscc(world, client):
    target = make_hazard(world, title="液氨储罐压力表失灵")
    other_ent = EnterpriseFactory(region=world.township, name="尧都区某丁机械厂")
    by_ent = make_hazard(world, enterprise=other_ent)
    make_hazard(world)
    login(client, world.head)
    url = reverse("hazards:list")
    assert codes(client.get(url, {"q": target.code})) == [target.code]
    assert codes(client.get(url, {"q": "压力表"})) == [target.code]
    assert codes(client.get(url, {"q": "某丁机械"})) == [by_ent.code]
    assert codes(client.get(url, {"q": other_ent.uscc.lower()})) == [by_ent.code]


def test_bad_filter_values_are_reported_not_a_server_error(world, client):
    make_hazard(world)
    login(client, world.head)
    response = client.get(
        reverse("hazards:list"),
        {"industry": "abc", "found_from": "2026-13-45", "stage": "nope", "found_to": "2020-01-01"},
    )
    assert response.status_code == 200
    assert {"industry", "found_from", "stage"} <= set(response.context["form"].errors)
    inverted = client.get(
        reverse("hazards:list"), {"found_from": "2026-02-01", "found_to": "2026-01-01"}
    )
    assert "found_to" in inverted.context["form"].errors


def test_keyset_pagination_walks_forward_and_back_keeping_the_filters(world, client):
    hazards = [make_hazard(world, save=False) for _ in range(45)]
    Hazard.objects.bulk_create(hazards)
    make_hazard(world, grade="major")  # filtered out
    ordered = list(
        Hazard.objects.filter(grade="general")
        .order_by("-found_at", "-id")
        .values_list("code", flat=True)
    )
    login(client, world.head)
    url = reverse("hazards:list")
    first = client.get(url, {"grade": "general"})
    assert codes(first) == ordered[:20]
    assert first.context["previous_url"] is None
    next_url = first.context["next_url"]
    assert "grade=general" in next_url
    assert "cursor=" in next_url
    second = client.get(url + next_url)
    assert codes(second) == ordered[20:40]
    third = client.get(url + second.context["next_url"])
    assert codes(third) == ordered[40:]
    assert third.context["next_url"] is None
    back = client.get(url + third.context["previous_url"])
    assert codes(back) == ordered[20:40]
    back_again = client.get(url + back.context["previous_url"])
    assert codes(back_again) == ordered[:20]
    assert back_again.context["previous_url"] is None


def test_the_ledger_never_counts_the_table_nor_uses_offset(world, client):
    Hazard.objects.bulk_create([make_hazard(world, save=False) for _ in range(30)])
    login(client, world.head)
    first = client.get(reverse("hazards:list"))
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("hazards:list") + first.context["next_url"])
    hazard_sql = [
        q["sql"].upper() for q in ctx.captured_queries if "HAZARDS_HAZARD" in q["sql"].upper()
    ]
    assert hazard_sql
    assert not any("COUNT(" in sql or "OFFSET" in sql for sql in hazard_sql)


@pytest.mark.parametrize("cursor", ["garbage", "eyJmIjoiMjAyNiJ9:abc:def", "", "%00%ff"])
def test_a_tampered_cursor_shows_the_first_page(world, client, cursor):
    Hazard.objects.bulk_create([make_hazard(world, save=False) for _ in range(25)])
    login(client, world.head)
    response = client.get(reverse("hazards:list"), {"cursor": cursor})
    assert response.status_code == 200
    assert len(codes(response)) == 20
    assert response.context["previous_url"] is None
    assert response.context["cursor_error"] is bool(cursor)


def test_a_cursor_with_a_forged_payload_is_refused():
    token = encode_cursor(Cursor(found_at=timezone.now(), pk=7))
    assert decode_cursor(token).pk == 7
    head, _sep, signature = token.rpartition(":")
    with pytest.raises(InvalidCursor):
        decode_cursor(head + ":" + signature[::-1])


def test_the_ledger_query_count_is_constant_for_1_20_and_100_hazards(world, client):
    login(client, world.head)
    client.get(reverse("hazards:list"))  # the session's first write (then at most once a minute)
    counts = []
    for total in (1, 20, 100):
        missing = total - Hazard.objects.count()
        Hazard.objects.bulk_create([make_hazard(world, save=False) for _ in range(missing)])
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("hazards:list"))
        assert len(codes(response)) == min(total, 20)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] == counts[2], counts


def test_the_ledger_exports_the_filtered_rows_as_csv_with_formulas_defused(world, client):
    make_hazard(world, title='=HYPERLINK("http://evil")', grade="major")
    make_hazard(world, title="普通隐患")
    login(client, world.head)
    response = client.get(reverse("hazards:export"), {"grade": "major"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert "'=HYPERLINK" in lines[1]
    assert "普通隐患" not in text


# --- the action forms ----------------------------------------------------------------------------


def rectifying(world: Any) -> Hazard:
    hazard = report(world)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    return Hazard.objects.get(pk=hazard.pk)


def test_extension_request_and_rejection_through_the_forms(world, client):
    hazard = rectifying(world)
    later = hazard.deadline_on + timedelta(days=20)
    login(client, world.colleague)
    assert (
        client.post(
            reverse("hazards:extension_request", args=[hazard.pk]),
            {"requested_on": later, "reason": "x"},
        ).status_code
        == 403
    )
    login(client, world.safety_manager)
    assert client.get(reverse("hazards:extension_request", args=[hazard.pk])).status_code == 200
    too_early = client.post(
        reverse("hazards:extension_request", args=[hazard.pk]),
        {"requested_on": hazard.deadline_on, "reason": "等待"},
    )
    assert too_early.status_code == 200
    assert "requested_on" in too_early.context["form"].errors
    response = client.post(
        reverse("hazards:extension_request", args=[hazard.pk]),
        {"requested_on": later, "reason": "备件未到"},
    )
    assert response.status_code == 302
    extension = Extension.objects.get()
    again = client.post(
        reverse("hazards:extension_request", args=[hazard.pk]),
        {"requested_on": later, "reason": "再次"},
    )
    assert again.status_code == 409  # one pending request at a time
    decide = reverse("hazards:extension_decide", args=[hazard.pk, extension.pk])
    assert (
        client.post(decide, {"approve": "1"}).status_code == 403
    )  # the enterprise does not decide
    login(client, world.colleague)
    assert set(page_tasks(client, hazard)) == {"rectify"}  # the rectify task stays open
    assert client.get(detail_url(hazard)).context["actions"].extension_decide.available
    no_reason = client.post(decide, {"approve": "0", "reason": ""})
    assert no_reason.status_code == 200
    assert "reason" in no_reason.context["form"].errors
    assert client.post(decide, {"approve": "0", "reason": "理由不充分"}).status_code == 302
    extension.refresh_from_db()
    hazard.refresh_from_db()
    assert extension.status == Extension.Status.REJECTED
    assert hazard.deadline_on < later
    assert client.post(decide, {"approve": "1"}).status_code == 409  # already decided


def test_an_extension_cannot_be_requested_outside_rectification(world, client):
    hazard = report(world)
    login(client, world.safety_manager)
    response = client.get(reverse("hazards:extension_request", args=[hazard.pk]))
    assert response.status_code == 409


def test_withdraw_needs_the_supervising_department_and_a_reason(world, client):
    hazard = report(world)
    url = reverse("hazards:withdraw", args=[hazard.pk])
    login(client, world.market_staff)  # sees it (cooperating) but does not supervise it
    assert client.post(url, {"reason": "无效"}).status_code == 403
    login(client, world.safety_manager)
    assert client.post(url, {"reason": "无效"}).status_code == 403
    login(client, world.inspector)
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 200
    assert "reason" in empty.context["form"].errors
    assert client.post(url, {"reason": "重复登记"}).status_code == 302
    hazard.refresh_from_db()
    assert hazard.stage == Stage.WITHDRAWN
    assert hazard.withdrawal_reason == "重复登记"
    assert client.post(url, {"reason": "再次"}).status_code == 409
    page = client.get(detail_url(hazard))
    assert page.context["actions"].tasks == []
    assert not page.context["actions"].withdraw.available
    assert actions(hazard)[-1] == "withdraw"


def test_listing_is_for_committee_offices_and_heads_on_open_major_hazards(world, client):
    general = report(world)
    major = report(world, grade="major")
    login(client, world.committee)
    assert (
        client.post(reverse("hazards:listing", args=[general.pk]), {"level": "county"}).status_code
        == 409
    )
    login(client, world.city_staff)
    assert (
        client.post(reverse("hazards:listing", args=[major.pk]), {"level": "city"}).status_code
        == 403
    )
    login(client, world.committee)
    assert client.get(detail_url(major)).context["actions"].listing.available
    assert (
        client.post(
            reverse("hazards:listing", args=[major.pk]), {"level": "city", "comment": "挂牌督办"}
        ).status_code
        == 302
    )
    major.refresh_from_db()
    assert major.listed_level == "city"
    assert major.listed_by == world.county_committee
    assert (
        client.post(reverse("hazards:listing", args=[major.pk]), {"level": "city"}).status_code
        == 409
    )


# --- the enterprise portal -----------------------------------------------------------------------


def test_the_portal_lists_the_enterprise_hazards_by_stage_and_the_users_tasks(world, client):
    hazard = rectifying(world)
    report(world)
    make_hazard(world, enterprise=world.other_enterprise, department=world.other_emergency)
    login(client, world.safety_manager)
    response = client.get(reverse("hazards:portal"))
    assert response.status_code == 200
    counts = {value: n for value, _label, n in response.context["stages"]}
    assert counts["rectify"] == 1
    assert counts["triage"] == 1
    assert sum(counts.values()) == 2
    tasks = response.context["tasks"]
    assert [(str(t["title"]), t["hazard"].pk) for t in tasks] == [(gettext("Rectify"), hazard.pk)]
    assert tasks[0]["url"] is None
    assert "/assign/?back=" in tasks[0]["claim_url"]
    assert tasks[0]["can_extend"] is True
    claimed = client.post(tasks[0]["claim_url"], {"_continue": "1"})
    assert claimed.status_code == 302  # claimed and on to the task page
    opened = client.get(claimed["Location"], follow=True)
    assert opened.resolver_match.url_name == "execute"
    mine = client.get(reverse("hazards:portal")).context["tasks"]
    assert "/execute/?back=" in mine[0]["url"]
    assert reverse("hazards:report") in response.content.decode()
    assert len(response.context["open_hazards"]) == 2


def test_the_portal_tells_non_enterprise_users_to_use_the_ledger(world, client):
    for persona in ("inspector", "outsider"):
        login(client, getattr(world, persona))
        response = client.get(reverse("hazards:portal"))
        assert response.status_code == 200
        assert response.context["no_enterprise"] is True


def test_the_pages_viewset_serves_the_same_names_under_the_hazards_namespace():
    patterns, app_name, namespace = HazardPagesViewset().urls
    names = {p.name for p in patterns[0].url_patterns}
    assert app_name == namespace == "hazards"
    assert {
        "index",
        "list",
        "report",
        "portal",
        "detail",
        "attachment_download",
        "attachment_thumbnail",
    } <= names


# --- whole lifecycles through HTTP ---------------------------------------------------------------


def test_general_lifecycle_through_the_web_with_extension_rework_and_separation_of_duties(
    world, client
):
    login(client, world.inspector)
    reported = client.post(reverse("hazards:report"), report_form_data(world))
    assert reported.status_code == 302
    hazard = Hazard.objects.get()
    assert hazard.stage == Stage.TRIAGE

    login(client, world.colleague)
    triaged = run_task(
        client, hazard, "triage", {"action": "confirm", "grade": "general", "comment": "确认"}
    )
    assert triaged.status_code == 302
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY
    assert hazard.deadline_on

    login(client, world.safety_manager)
    later = hazard.deadline_on + timedelta(days=10)
    requested = client.post(
        reverse("hazards:extension_request", args=[hazard.pk]),
        {"requested_on": later, "reason": "备件未到"},
    )
    assert requested.status_code == 302
    login(client, world.colleague)
    extension = Extension.objects.get()
    decided = client.post(
        reverse("hazards:extension_decide", args=[hazard.pk, extension.pk]), {"approve": "1"}
    )
    assert decided.status_code == 302
    hazard.refresh_from_db()
    assert hazard.deadline_on == later

    login(client, world.safety_manager)
    done = run_task(
        client,
        hazard,
        "rectify",
        {"work_done": "更换报警器", "cost": "1200", "after_photos": [photo("after.jpg", "green")]},
    )
    assert done.status_code == 302

    login(client, world.inspector)  # the reporter may not verify: the form says why, nothing moves
    refused = run_task(client, hazard, "verify", {"passed": "1", "comment": "合格"})
    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors()
    hazard.refresh_from_db()
    assert hazard.stage == Stage.VERIFY
    task = page_tasks(client, hazard)["verify"]
    released = client.post(task["url"].split("execute/")[0] + "unassign/")
    assert released.status_code == 302

    login(client, world.colleague)
    failed = run_task(client, hazard, "verify", {"passed": "0", "comment": "报警器仍未通电"})
    assert failed.status_code == 302
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY

    login(client, world.safety_manager)
    assert (
        run_task(
            client,
            hazard,
            "rectify",
            {"work_done": "接通电源", "cost": "100", "after_photos": [photo("again.jpg")]},
        ).status_code
        == 302
    )
    login(client, world.colleague)
    assert (
        run_task(client, hazard, "verify", {"passed": "1", "comment": "复查合格"}).status_code
        == 302
    )

    hazard.refresh_from_db()
    assert hazard.stage == Stage.CLOSED
    assert hazard.closed_by == world.colleague
    assert list(hazard.rectifications.values_list("result", flat=True)) == [
        Rectification.Result.FAILED,
        Rectification.Result.PASSED,
    ]
    page = client.get(detail_url(hazard))
    assert [i["event"].action for i in page.context["timeline"]] == [
        "report",
        "route",
        "triage",
        "extension_request",
        "extension_approve",
        "rectify",
        "verify_fail",
        "rectify",
        "verify_pass",
    ]
    assert page.context["timeline"][-1]["actor"] == "同事"
    assert page.context["actions"].tasks == []
    assert hazard.attachments.filter(kind=Attachment.Kind.AFTER_PHOTO).count() == 2


def test_major_lifecycle_through_the_web_with_a_returned_plan_listing_and_close_out(world, client):
    login(client, world.safety_manager)
    assert (
        client.post(reverse("hazards:report"), report_form_data(world, grade="major")).status_code
        == 302
    )
    hazard = Hazard.objects.get()
    assert hazard.source == "self_check"
    assert hazard.department == world.city_emergency

    login(client, world.city_staff)
    assert (
        run_task(client, hazard, "triage", {"action": "confirm", "grade": "major"}).status_code
        == 302
    )
    hazard.refresh_from_db()
    assert hazard.stage == Stage.PLAN

    plan = {
        "goal": "彻底消除泄漏",
        "measures": "更换阀门",
        "funds": "50000",
        "materials": "阀门2个",
        "responsible_org": "设备部",
        "responsible_people": "甲厂长",
        "deadline_on": (timezone.localdate() + timedelta(days=60)).isoformat(),
        "safety_measures": "停用储罐",
        "contingency": "应急预案",
    }
    login(client, world.principal)
    assert page_tasks(client, hazard)["plan"]["url"]  # assigned to the principal directly
    assert run_task(client, hazard, "plan", plan).status_code == 302
    login(client, world.city_staff)
    assert (
        run_task(
            client, hazard, "approve_plan", {"approve": "0", "comment": "资金不落实"}
        ).status_code
        == 302
    )
    login(client, world.principal)
    assert run_task(client, hazard, "plan", {**plan, "funds": "80000"}).status_code == 302
    login(client, world.city_staff)
    assert run_task(client, hazard, "approve_plan", {"approve": "1"}).status_code == 302
    hazard.refresh_from_db()
    assert hazard.stage == Stage.RECTIFY

    login(client, world.committee)
    assert (
        client.post(
            reverse("hazards:listing", args=[hazard.pk]), {"level": "county", "comment": "挂牌"}
        ).status_code
        == 302
    )

    login(client, world.safety_manager)
    assert (
        run_task(
            client,
            hazard,
            "rectify",
            {"work_done": "阀门已更换", "cost": "78000", "after_photos": [photo()]},
        ).status_code
        == 302
    )
    login(client, world.city_staff)
    assert run_task(client, hazard, "verify", {"passed": "1", "comment": "合格"}).status_code == 302
    hazard.refresh_from_db()
    assert hazard.stage == Stage.CLOSE_OUT

    assert "close_out" not in {
        n for n, t in page_tasks(client, hazard).items() if t["url"] or t["claim_url"]
    }
    login(client, world.city_head)
    assert run_task(client, hazard, "close_out", {"comment": "销号"}).status_code == 302
    hazard.refresh_from_db()
    assert hazard.stage == Stage.CLOSED
    assert hazard.delisted_on == timezone.localdate()
    assert list(hazard.plans.values_list("status", flat=True)) == [
        Plan.Status.RETURNED,
        Plan.Status.APPROVED,
    ]
    page = client.get(detail_url(hazard))
    assert [i["event"].action for i in page.context["timeline"]] == [
        "report",
        "route",
        "triage",
        "plan_submit",
        "plan_return",
        "plan_submit",
        "plan_approve",
        "list",
        "rectify",
        "verify_pass",
        "close",
    ]
    assert len(page.context["plans"]) == 2
    html = page.content.decode()
    assert 'data-version="1"' in html
    assert 'data-version="2"' in html
    assert "资金不落实" in html


def test_the_pages_live_in_the_site_with_the_hazard_menu(world, client):
    login(client, world.safety_manager)
    html = client.get(reverse("hazards:list")).content.decode()
    assert "vf-page__menu" in html  # the Site's navigation drawer
    for name in ("hazards:list", "hazards:report", "hazards:portal"):
        assert f'href="{reverse(name)}"' in html
    assert reverse("index") == "/"
    assert client.get("/").resolver_match.func.view_class.__name__ == "HomeView"


def test_anonymous_visitors_are_sent_to_the_login_page(world, client):
    hazard = report(world)
    for url in (reverse("hazards:list"), detail_url(hazard), reverse("hazards:report")):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]


def _department_options(html: str) -> list[str]:
    select = html.split('name="department"', 1)[1].split("</select>", 1)[0]
    return [part.split('"', 1)[0] for part in select.split('<option value="')[1:]]


def test_the_department_filter_offers_the_departments_of_the_users_scope(world, client):
    login(client, world.head)
    html = client.get(reverse("hazards:list")).content.decode()
    assert _department_options(html) == ["", str(world.emergency.pk)]
    login(client, world.committee)  # the county committee office: every department of the county
    offered = set(_department_options(client.get(reverse("hazards:list")).content.decode()))
    assert {
        str(world.emergency.pk),
        str(world.market.pk),
        str(world.county_committee.pk),
    } <= offered
    assert str(world.other_emergency.pk) not in offered
    assert str(world.city_emergency.pk) not in offered


def test_a_chosen_filter_stays_selected_and_escaped(world, client):
    login(client, world.head)
    html = client.get(
        reverse("hazards:list"), {"department": world.emergency.pk, "stage": "rectify"}
    ).content.decode()
    assert f'<option value="{world.emergency.pk}" selected>' in html
    assert '<option value="rectify" selected>' in html
    foreign = client.get(reverse("hazards:list"), {"department": world.other_emergency.pk})
    assert foreign.status_code == 200  # an out-of-scope department is an invalid choice, ignored
    assert foreign.context["form"].errors["department"]
