"""The hazard API: the ledger (filters, keyset pages, scope, query counts), the record and reporting.

The helpers at the top are shared by the other hazard API modules (test_tasks, test_attachments,
test_lifecycle_api).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import assert_error
from tests.factories import PostFactory, UserFactory, industry
from tests.hazards.personas import photo
from workflows.hazards import evidence, services
from workflows.hazards.models import Attachment, CriteriaClause, Event, Hazard, Stage

HAZARDS = reverse("api:hazard-list")
INBOX = reverse("api:task-inbox")
QUEUE = reverse("api:task-queue")
# Everyone who must not see enterprise A's hazards (B's people, another county, nobody).
FOREIGN = ("employee_b", "principal_b", "other_staff", "outsider")
# Everyone in A's hazard's chain (they all see it).
INSIDERS = (
    "inspector",
    "head",
    "colleague",
    "market_staff",
    "committee",
    "principal",
    "safety_manager",
)
_numbers = itertools.count(900)


# --- shared helpers ----------------------------------------------------------------------------


def detail_url(hazard: Hazard | str) -> str:
    code = hazard if isinstance(hazard, str) else hazard.code
    return reverse("api:hazard-detail", kwargs={"code": code})


def action_url(hazard: Hazard | str, action: str, **kwargs: Any) -> str:
    code = hazard if isinstance(hazard, str) else hazard.code
    return reverse(f"api:hazard-{action}", kwargs={"code": code, **kwargs})


def task_url(task_id: int, action: str) -> str:
    return reverse(f"api:task-{action}", kwargs={"pk": task_id})


def download_url(attachment_id: int) -> str:
    return reverse("api:attachment-download", kwargs={"pk": attachment_id})


def report(world: Any, *, grade: str = "general", reporter: Any = None, **fields: Any) -> Hazard:
    """A hazard of enterprise A reported through the service (as the web would)."""
    values: dict[str, Any] = {
        "reporter": reporter or world.inspector,
        "enterprise": world.enterprise,
        "title": "储罐区可燃气体报警器失效",
        "description": "2号储罐区可燃气体报警器未通电。",
        "location": "2号储罐区",
        "source": "routine",
        "grade": grade,
        "before_photos": [photo()],
    }
    values.update(fields)
    return services.hazard_report(**values)


def report_b(world: Any) -> Hazard:
    """A hazard of enterprise B (another county, another tenant)."""
    return services.hazard_report(
        reporter=world.principal_b,
        enterprise=world.other_enterprise,
        title="乙厂储罐泄漏",
        description="d",
        location="罐区",
        source="self_check",
        before_photos=[photo()],
    )


def rectifying(world: Any, **kwargs: Any) -> Hazard:
    """A general hazard of A triaged by the colleague, now being rectified."""
    hazard = report(world, **kwargs)
    services.hazard_triage(hazard=hazard, user=world.colleague, grade="general")
    hazard.refresh_from_db()
    return hazard


def make_hazard(world: Any, *, save: bool = True, **fields: Any) -> Hazard:
    """A ledger row written directly (fast), for filter, paging and query-count tests."""
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
        "found_at": timezone.now() - timedelta(hours=n - 800),
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


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


def actions(hazard: Hazard) -> list[str]:
    return list(
        Event.objects.filter(hazard=hazard).order_by("at", "pk").values_list("action", flat=True)
    )


def report_body(world: Any, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enterprise": world.enterprise.uscc,
        "source": "unannounced",
        "title": "配电室门未关闭",
        "description": "配电室无人值守且门未上锁。",
        "location": "1号配电室",
        "grade": "general",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


# --- the ledger ---------------------------------------------------------------------------------


def test_the_ledger_lists_exactly_the_hazards_in_each_persons_scope(world, api_as):
    mine = report(world)
    theirs = report_b(world)
    for persona in INSIDERS:
        assert codes(api_as(getattr(world, persona)).get(HAZARDS)) == [mine.code], persona
    for persona in ("employee_b", "principal_b", "other_staff"):
        assert codes(api_as(getattr(world, persona)).get(HAZARDS)) == [theirs.code], persona
    assert codes(api_as(world.outsider).get(HAZARDS)) == []


def test_anonymous_requests_are_refused_with_401(world, api):
    hazard = report(world)
    assert_error(api.get(HAZARDS), 401, "not_authenticated")
    assert_error(api.get(detail_url(hazard)), 401)
    assert_error(api.post(HAZARDS, report_body(world), format="json"), 401)
    assert not Hazard.objects.exclude(pk=hazard.pk).exists()


def test_a_ledger_row_has_the_list_fields(world, api_as):
    hazard = rectifying(world)
    row = api_as(world.head).get(HAZARDS).json()["results"][0]
    assert row["code"] == hazard.code
    assert row["url"].endswith(detail_url(hazard))
    assert row["stage"] == "rectify"
    assert row["grade"] == "general"
    assert row["source"] == "routine"
    assert row["enterprise"] == {"uscc": world.enterprise.uscc, "name": world.enterprise.name}
    assert row["industry"]["code"] == "hazchem"
    assert row["county"]["code"] == world.county.code
    assert row["department"]["code"] == world.emergency.code
    assert row["deadline_on"] == hazard.deadline_on.isoformat()
    assert row["overdue"] is False
    assert row["closed_at"] is None


def test_each_ledger_filter_narrows_the_list(world, api_as):
    today = timezone.localdate()
    base = make_hazard(world, title="基准")
    major = make_hazard(world, grade="major")
    tip = make_hazard(world, source="tip_off")
    triage = make_hazard(world, stage=Stage.TRIAGE)
    coking = make_hazard(world, industry=industry("coking"))
    market = make_hazard(world, department=world.market)
    overdue = make_hazard(world, deadline_on=today - timedelta(days=1))
    closed_overdue = make_hazard(
        world,
        deadline_on=today - timedelta(days=1),
        stage=Stage.CLOSED,
        closed_at=timezone.now(),
    )
    old = make_hazard(world, found_at=timezone.now() - timedelta(days=400))
    api = api_as(world.committee)  # the county committee office sees every hazard of the county

    def only(**params: Any) -> set[str]:
        return set(codes(api.get(HAZARDS, params)))

    assert only(grade="major") == {major.code}
    assert only(source="tip_off") == {tip.code}
    assert only(stage="triage") == {triage.code}
    assert only(industry="coking") == {coking.code}
    assert coking.code in only(industry="hazchem")  # an industry covers its sub-industries
    assert only(department=world.market.code) == {market.code}
    assert only(overdue="true") == {overdue.code}
    assert closed_overdue.code not in only(overdue="true")
    assert old.code not in only(found_from=(today - timedelta(days=30)).isoformat())
    assert only(found_to=(today - timedelta(days=300)).isoformat()) == {old.code}
    assert only(q="基准") == {base.code}
    assert only(q=base.code[:14]) >= {base.code}
    assert only(q=world.enterprise.uscc.lower()) >= {base.code, major.code}
    assert base.code in only(county=world.county.code)
    assert only(county=world.other_county.code) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "bogus"}, "stage"),
        ({"grade": ""}, "grade"),
        ({"source": "rumour"}, "source"),
        ({"industry": "no-such-industry"}, "industry"),
        ({"county": "999999"}, "county"),
        ({"department": "nope"}, "department"),
        ({"overdue": "maybe"}, "overdue"),
        ({"found_from": "2026-13-45"}, "found_from"),
        ({"found_from": "2026-03-02", "found_to": "2026-03-01"}, "found_to"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_bad_filter_values_are_400_with_the_field(world, api_as, params, field):
    make_hazard(world)
    body = assert_error(api_as(world.head).get(HAZARDS, params), 400, "validation_error")
    assert field in body["errors"], body


def test_keyset_pages_walk_forward_and_back_and_keep_the_filters(world, api_as):
    Hazard.objects.bulk_create([make_hazard(world, save=False) for _ in range(45)])
    Hazard.objects.bulk_create([make_hazard(world, save=False, grade="major") for _ in range(3)])
    api = api_as(world.head)
    expected = list(
        Hazard.objects.filter(grade="general")
        .order_by("-found_at", "-id")
        .values_list("code", flat=True)
    )
    first = api.get(HAZARDS, {"grade": "general", "page_size": 20}).json()
    assert [r["code"] for r in first["results"]] == expected[:20]
    assert first["previous"] is None
    assert "grade=general" in first["next"]
    second = api.get(first["next"]).json()
    assert [r["code"] for r in second["results"]] == expected[20:40]
    third = api.get(second["next"]).json()
    assert [r["code"] for r in third["results"]] == expected[40:]
    assert third["next"] is None
    back = api.get(third["previous"]).json()
    assert [r["code"] for r in back["results"]] == expected[20:40]


def test_the_page_size_is_capped_at_100(world, api_as):
    Hazard.objects.bulk_create([make_hazard(world, save=False) for _ in range(105)])
    api = api_as(world.head)
    page = api.get(HAZARDS, {"page_size": 1000}).json()
    assert len(page["results"]) == 100
    assert page["next"] is not None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 5
    assert rest["next"] is None
    assert len(api.get(HAZARDS).json()["results"]) == 20  # the default


def test_the_ledger_query_count_is_constant_for_1_20_and_100_hazards(world, api_as):
    api = api_as(world.committee)  # the widest scope: a committee office sees its whole region
    api.get(HAZARDS)  # the token's first use writes last_used_at (once a minute)
    counts = []
    for total in (1, 20, 100):
        missing = total - Hazard.objects.count()
        Hazard.objects.bulk_create([make_hazard(world, save=False) for _ in range(missing)])
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(HAZARDS, {"page_size": 100, "grade": "general"})
        assert len(codes(response)) == total
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] == counts[2], counts


# --- the record ---------------------------------------------------------------------------------


def test_the_record_has_chain_timeline_evidence_links_and_the_open_task(world, api_as):
    hazard = rectifying(world)
    ext = services.extension_request(
        hazard=hazard,
        user=world.safety_manager,
        requested_on=hazard.deadline_on + timedelta(days=5),
        reason="备件未到",
    )
    body = api_as(world.safety_manager).get(detail_url(hazard)).json()

    assert body["code"] == hazard.code
    assert body["stage"] == "rectify"
    assert body["found_by"] == {"username": "inspector", "full_name": "检查员"}
    assert body["chain"]["enterprise"]["uscc"] == world.enterprise.uscc
    roles = [link["role"] for link in body["chain"]["links"]]
    assert roles[0] == "principal"
    assert "lead" in roles
    assert "cooperating" in roles
    assert body["chain"]["blind_spot"] is False
    assert [e["action"] for e in body["timeline"]] == [
        "report",
        "route",
        "triage",
        "extension_request",
    ]
    assert body["timeline"][2]["actor"]["username"] == "colleague"
    assert body["timeline"][2]["to_stage"] == "rectify"
    (attachment,) = body["attachments"]
    assert attachment["kind"] == "before_photo"
    assert attachment["content_type"] == "image/jpeg"
    assert attachment["download_url"].endswith(download_url(attachment["id"]))
    assert [c["department"]["code"] for c in body["copy_notices"]] == [world.market.code]
    assert body["extensions"][0]["id"] == ext.pk
    assert body["extensions"][0]["status"] == "pending"
    task = body["open_task"]
    assert task["node"] == "rectify"
    assert task["status"] == "NEW"
    assert task["owner"] is None
    assert task["can_claim"] is True
    assert task["can_execute"] is False
    assert task["actions"] == ["rectify"]
    # The market bureau (cooperating) sees the same record but may not take the step.
    seen_by_market = api_as(world.market_staff).get(detail_url(hazard)).json()["open_task"]
    assert seen_by_market["can_claim"] is False


@pytest.mark.parametrize("persona", FOREIGN)
def test_outsiders_and_other_tenants_get_404_for_the_record(world, api_as, persona):
    hazard = report(world)
    api = api_as(getattr(world, persona))
    assert_error(api.get(detail_url(hazard)), 404, "not_found")
    assert_error(api.get(detail_url("141000-2099-999999")), 404, "not_found")


def test_an_unknown_or_odd_code_is_a_json_404(world, api_as):
    api = api_as(world.head)
    for code in ("nope", "a%2Fb", "141000-2026-000001/extra", "%00"):
        response = api.get(f"{HAZARDS}/{code}")
        assert_error(response, 404)


def test_the_record_query_count_does_not_grow_with_its_history(world, api_as):
    hazard = rectifying(world)
    api = api_as(world.head)

    def refused_extensions(count, start):
        for n in range(start, start + count):
            ext = services.extension_request(
                hazard=hazard,
                user=world.safety_manager,
                requested_on=hazard.deadline_on + timedelta(days=n + 1),
                reason="r",
            )
            services.extension_decide(
                extension=ext, user=world.colleague, approve=False, reason="no"
            )

    refused_extensions(1, 0)
    assert api.get(detail_url(hazard)).status_code == 200  # the token's last use is recorded
    with CaptureQueriesContext(connection) as before:
        assert api.get(detail_url(hazard)).status_code == 200
    refused_extensions(4, 1)
    with CaptureQueriesContext(connection) as after:
        response = api.get(detail_url(hazard))
    assert response.status_code == 200
    assert len(response.json()["extensions"]) == 5
    assert len(after.captured_queries) == len(before.captured_queries)


# --- reporting ----------------------------------------------------------------------------------


def test_an_inspector_reports_by_json_without_a_photo_and_it_is_routed(world, api_as):
    found = (timezone.localtime() - timedelta(hours=2)).replace(microsecond=0)
    response = api_as(world.inspector).post(
        HAZARDS,
        report_body(
            world, found_at=found.isoformat(), latitude="36.080000", longitude="111.520000"
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    hazard = Hazard.objects.get(code=body["code"])
    assert response["Location"].endswith(detail_url(hazard))
    assert body["stage"] == "triage"
    assert body["source"] == "unannounced"
    assert body["department"]["code"] == world.emergency.code
    assert body["attachments"] == []
    assert hazard.found_by == world.inspector
    assert hazard.found_at == found
    assert str(hazard.latitude) == "36.080000"
    assert actions(hazard) == ["report", "route"]
    assert body["open_task"]["node"] == "triage"
    assert body["open_task"]["can_claim"] is True


def test_an_enterprise_reports_a_self_check_with_photos_by_multipart(world, api_as):
    post = PostFactory(enterprise=world.enterprise, code="tank-area", holder=world.safety_manager)
    response = api_as(world.safety_manager).post(
        HAZARDS,
        {
            **report_body(world, source=None, grade="major", post="tank-area"),
            "before_photos": [photo(), photo("second.jpg", "blue")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    hazard = Hazard.objects.get(code=response.json()["code"])
    assert hazard.source == "self_check"
    assert hazard.grade == "major"
    assert hazard.post == post
    assert hazard.attachments.filter(kind=Attachment.Kind.BEFORE_PHOTO).count() == 2
    assert hazard.department == world.city_emergency


@pytest.mark.parametrize(
    ("persona", "overrides", "field"),
    [
        ("inspector", {"title": None}, "title"),
        ("inspector", {"title": "x" * 201}, "title"),
        ("inspector", {"enterprise": "91110000000000000X"}, "enterprise"),
        ("inspector", {"source": None}, "source"),  # the web form requires it of inspectors
        ("inspector", {"source": "self_check"}, "source"),
        ("inspector", {"source": "rumour"}, "source"),
        ("inspector", {"grade": "minor"}, "grade"),
        ("inspector", {"latitude": "36.1"}, "longitude"),  # both or neither (the web form)
        ("inspector", {"latitude": "91"}, "latitude"),
        ("inspector", {"industry": "no-such"}, "industry"),
        ("inspector", {"post": "no-such-post"}, "post"),
        ("inspector", {"local_grade": "no-such"}, "local_grade"),
        ("inspector", {"found_at": "yesterday"}, "found_at"),
        ("safety_manager", {"source": "routine"}, "source"),  # the service's rule
    ],
)
def test_bad_reports_are_400_with_the_field_and_create_nothing(
    world, api_as, persona, overrides, field
):
    response = api_as(getattr(world, persona)).post(
        HAZARDS, report_body(world, **overrides), format="json"
    )
    body = assert_error(response, 400, "validation_error")
    assert field in body["errors"], body
    assert not Hazard.objects.exists()


def test_a_future_discovery_is_refused_by_the_service_as_a_field_error(world, api_as):
    future = (timezone.now() + timedelta(days=1)).isoformat()
    response = api_as(world.inspector).post(
        HAZARDS, report_body(world, found_at=future), format="json"
    )
    assert "found_at" in assert_error(response, 400)["errors"]


def test_a_clause_on_a_general_hazard_is_refused_as_on_the_web(world, api_as):
    clause = CriteriaClause.objects.create(
        standard="危化品重大隐患判定标准", code="1", text="…", industry=industry("hazchem")
    )
    api = api_as(world.inspector)
    refused = api.post(HAZARDS, report_body(world, clause=clause.pk), format="json")
    assert "clause" in assert_error(refused, 400)["errors"]
    accepted = api.post(HAZARDS, report_body(world, clause=clause.pk, grade="major"), format="json")
    assert accepted.status_code == 201
    assert accepted.json()["clause"]["id"] == clause.pk


def test_an_enterprise_of_another_tenant_is_unknown_to_the_reporter(world, api_as):
    for persona in ("inspector", "safety_manager"):
        response = api_as(getattr(world, persona)).post(
            HAZARDS, report_body(world, enterprise=world.other_enterprise.uscc), format="json"
        )
        assert "enterprise" in assert_error(response, 400)["errors"]
    assert not Hazard.objects.exists()


def test_people_without_an_enterprise_or_department_cannot_report(world, api_as):
    assert_error(
        api_as(world.outsider).post(HAZARDS, report_body(world), format="json"),
        403,
        "permission_denied",
    )
    assert not Hazard.objects.exists()


def test_a_photo_that_is_not_an_image_is_a_field_error(world, api_as):
    fake = photo("fake.jpg")
    fake.file.seek(0)
    fake.file.truncate()
    fake.file.write(b"<html><script>alert(1)</script></html>")
    fake.file.seek(0)
    fake.size = 40
    response = api_as(world.inspector).post(
        HAZARDS, {**report_body(world), "before_photos": [fake]}, format="multipart"
    )
    assert "before_photos" in assert_error(response, 400)["errors"]
    assert not Hazard.objects.exists()


def test_an_oversized_photo_is_refused_with_413_before_anything_is_stored(
    world, api_as, monkeypatch
):
    monkeypatch.setattr(evidence, "MAX_IMAGE_BYTES", 200)
    response = api_as(world.inspector).post(
        HAZARDS, {**report_body(world), "before_photos": [photo()]}, format="multipart"
    )
    body = assert_error(response, 413, "payload_too_large")
    assert "before_photos" in body["errors"]
    assert not Hazard.objects.exists()
    assert not Attachment.objects.exists()


def test_an_api_client_needs_the_write_scope_to_report(world, api_as_client):
    reader = api_as_client(["hazards:read"])
    assert_error(reader.post(HAZARDS, report_body(world), format="json"), 403)
    assert reader.get(HAZARDS).status_code == 200
    writer = api_as_client(["hazards:read", "hazards:write"])
    response = writer.post(HAZARDS, report_body(world), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["found_by"]["username"] == writer.api_client.service_user.username


def test_session_authentication_works_for_the_web_ui(world):
    hazard = report(world)
    client = APIClient()
    client.force_login(world.head)
    assert client.get(detail_url(hazard)).status_code == 200
    client.force_login(UserFactory())
    assert client.get(detail_url(hazard)).status_code == 404


def test_a_discovery_time_centuries_ago_is_refused_as_a_typing_error(world, api_as):
    response = api_as(world.inspector).post(
        HAZARDS, report_body(world, found_at="0376-02-16T05:27:46Z"), format="json"
    )
    assert response.status_code == 400, response.content
    assert "found_at" in response.json()["errors"]
    assert not Hazard.objects.exists()
