"""Alert intake: a monitoring system opens exactly one hazard per Idempotency-Key."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.conftest import assert_error, bearer, client_token, make_api_client
from tests.hazards.personas import build_world
from workflows.api import services
from workflows.api.models import IdempotencyRecord
from workflows.hazards.models import Hazard, HazardTask
from workflows.hazards.permissions import dept_perm

ALERTS = reverse("api:alerts")


def alert(world, **overrides):
    body = {
        "uscc": world.enterprise.uscc,
        "point_id": "GT-0203",
        "type": "可燃气体浓度超限",
        "value": 35.5,
        "threshold": 25,
        "unit": "%LEL",
        "occurred_at": (timezone.now() - timedelta(minutes=3)).isoformat(),
        "description": "罐区2号可燃气体探测器报警",
    }
    body.update(overrides)
    return body


def post(api, body, key="key-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(ALERTS, body, format="json", **headers, **extra)


@pytest.fixture
def monitor(api_as_client):
    return api_as_client(["alerts:write"], name="危化品监测预警平台")


def test_an_alert_opens_and_routes_one_monitoring_hazard(world, monitor):
    response = post(monitor, alert(world))

    assert response.status_code == 201, response.json()
    hazard = Hazard.objects.get()
    body = response.json()
    assert body["idempotency_key"] == "key-1"
    assert body["hazard"]["id"] == hazard.pk
    assert body["hazard"]["code"] == hazard.code
    assert body["hazard"]["source"] == "monitoring"
    assert body["hazard"]["stage"] == "triage"
    assert body["hazard"]["department"] == {
        "code": world.emergency.code,
        "name": world.emergency.name,
    }
    assert hazard.source == "monitoring"
    assert hazard.found_by == monitor.api_client.service_user
    assert hazard.finder_name == "危化品监测预警平台"
    assert hazard.enterprise == world.enterprise
    assert hazard.department == world.emergency
    assert "GT-0203" in hazard.title
    assert "可燃气体浓度超限" in hazard.title
    assert "35.5 %LEL" in hazard.description
    assert "25 %LEL" in hazard.description
    assert "罐区2号可燃气体探测器报警" in hazard.description
    assert not hazard.attachments.exists()
    # Routed: the triage step waits in the lead department's queue.
    task = HazardTask.objects.get(process_id=hazard.process_id, flow_task_type="HUMAN")
    assert task.owner_permission == dept_perm(world.emergency.pk)


def test_the_same_key_and_body_replay_the_same_answer_without_a_new_hazard(world, monitor):
    body = alert(world)
    first = post(monitor, body)

    again = post(monitor, body)

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Hazard.objects.count() == 1


def test_key_order_and_spacing_of_the_body_do_not_matter(world, monitor):
    body = alert(world)
    post(monitor, body)
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    again = monitor.post(
        ALERTS, reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-1"
    )

    assert again.status_code == 201
    assert Hazard.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(world, monitor):
    post(monitor, alert(world))

    response = post(monitor, alert(world, value=99))

    body = assert_error(response, 422, "idempotency_key_reused")
    assert "Idempotency-Key" in body["errors"]
    assert Hazard.objects.count() == 1


def test_the_same_key_with_an_invalid_body_is_a_422_too(world, monitor):
    post(monitor, alert(world))

    assert_error(post(monitor, {"uscc": "bad"}), 422, "idempotency_key_reused")


def test_different_keys_open_different_hazards(world, monitor):
    post(monitor, alert(world), key="a")
    post(monitor, alert(world), key="b")

    assert Hazard.objects.count() == 2


def test_keys_belong_to_one_client(world, monitor, api_as_client):
    other = api_as_client(["alerts:write"], name="另一个平台")
    post(monitor, alert(world), key="shared")

    response = post(other, alert(world), key="shared")

    assert response.status_code == 201
    assert Hazard.objects.count() == 2


@pytest.mark.parametrize("key", [None, "", "x" * 256, "带中文", "with space"])
def test_a_missing_or_bad_key_is_a_400(world, monitor, key):
    response = post(monitor, alert(world), key=key)

    body = assert_error(response, 400, "validation_error")
    assert "Idempotency-Key" in body["errors"]
    assert not Hazard.objects.exists()


def test_the_record_keeps_a_hash_of_the_body_and_the_answer(world, monitor):
    body = alert(world)
    response = post(monitor, body, key="k-42")

    record = IdempotencyRecord.objects.get()
    assert record.client == monitor.api_client
    assert record.key == "k-42"
    assert record.request_hash == services.request_fingerprint(json.loads(json.dumps(body)))
    assert record.status_code == 201
    assert record.response_body == response.json()
    assert record.hazard == Hazard.objects.get()


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"uscc": ""}, "uscc"),
        ({"uscc": "911410000000000000"}, "uscc"),  # bad check character
        ({"point_id": ""}, "point_id"),
        ({"type": "x" * 65}, "type"),
        ({"value": "a lot"}, "value"),
        ({"value": "1e400"}, "value"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"industry": "nope"}, "industry"),
        ({"industry": "\x00"}, "industry"),
        ({"uscc": "\x00"}, "uscc"),
        ({"point_id": "GT\x00"}, "point_id"),
        ({"description": "\x00"}, "description"),
        ({"location": "\x00"}, "location"),
    ],
)
def test_invalid_alerts_are_400_with_field_errors(world, monitor, overrides, field):
    response = post(monitor, alert(world, **overrides))

    body = assert_error(response, 400, "validation_error")
    assert field in body["errors"], body
    assert not Hazard.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_required_fields_are_reported_in_chinese(world, monitor):
    response = post(monitor, {}, HTTP_ACCEPT_LANGUAGE="zh-hans")

    body = assert_error(response, 400, "validation_error")
    assert set(body["errors"]) == {"uscc", "point_id", "type", "occurred_at"}
    assert all("\u4e00" <= ch <= "\u9fff" for ch in body["errors"]["uscc"][0][:2])


def test_an_alarm_in_the_future_is_refused_on_occurred_at(world, monitor):
    response = post(
        monitor, alert(world, occurred_at=(timezone.now() + timedelta(hours=1)).isoformat())
    )

    body = assert_error(response, 400, "validation_error")
    assert "occurred_at" in body["errors"]


def test_an_enterprise_outside_the_clients_scope_is_refused_like_an_unknown_one(world, monitor):
    outside = post(monitor, alert(world, uscc=world.other_enterprise.uscc), key="a")
    from tests.factories import make_uscc

    unknown = post(monitor, alert(world, uscc=make_uscc(9999)), key="b")

    assert assert_error(outside, 400)["errors"] == assert_error(unknown, 400)["errors"]
    assert "uscc" in outside.json()["errors"]
    assert not Hazard.objects.exists()


def test_a_lowercase_uscc_with_spaces_is_normalised(world, monitor):
    uscc = world.enterprise.uscc
    response = post(monitor, alert(world, uscc=f" {uscc[:9].lower()} {uscc[9:]} "))

    assert response.status_code == 201


def test_a_refused_alert_can_be_corrected_and_retried_with_the_same_key(world, monitor):
    assert post(monitor, alert(world, point_id=""), key="retry").status_code == 400

    assert post(monitor, alert(world), key="retry").status_code == 201
    assert Hazard.objects.count() == 1


def test_the_hazard_text_is_written_in_the_site_language(world, monitor):
    # The text names the moment the alert arrived: both arrive in the same (frozen) second.
    with time_machine.travel(timezone.now(), tick=False):
        post(monitor, alert(world), key="en", HTTP_ACCEPT_LANGUAGE="en")
        post(monitor, alert(world), key="zh", HTTP_ACCEPT_LANGUAGE="zh-hans")

    english, chinese = (
        Hazard.objects.get(pk=IdempotencyRecord.objects.get(key=k).hazard_id) for k in ("en", "zh")
    )
    assert english.title == chinese.title
    assert english.description == chinese.description


# --- who may report ----------------------------------------------------------------------------


def test_a_client_without_alerts_write_gets_403(world, api_as_client):
    api = api_as_client(["hazards:read", "hazards:write", "enterprises:read"])

    body = assert_error(post(api, alert(world)), 403, "permission_denied")
    assert "alerts:write" in body["detail"]
    assert not Hazard.objects.exists()


def test_people_cannot_use_alert_intake(world, api_as):
    for person in (world.inspector, world.principal, world.outsider):
        assert_error(post(api_as(person), alert(world)), 403, "permission_denied")
    assert not Hazard.objects.exists()


def test_anonymous_alerts_are_401(world, api):
    assert_error(post(api, alert(world)), 401, "not_authenticated")


def test_a_revoked_client_token_is_refused_at_once(world, monitor):
    services.api_client_tokens_revoke_all(client=monitor.api_client)

    assert_error(post(monitor, alert(world)), 401, "authentication_failed")


def test_a_city_client_reports_for_the_whole_city(world, api_as_client):
    api = api_as_client(["alerts:write"], department=world.city_emergency)

    response = post(api, alert(world, uscc=world.other_enterprise.uscc))

    assert response.status_code == 201
    assert Hazard.objects.get().enterprise == world.other_enterprise


def test_a_second_insert_of_the_same_key_replays_inside_the_service(world, monitor):
    """The service's own guard (what a concurrent request hits once the first one committed)."""
    client = monitor.api_client
    data = alert(world)
    fingerprint = services.request_fingerprint(data)
    payload = services.Alert(
        enterprise=world.enterprise,
        point_id="GT-0203",
        type="可燃气体浓度超限",
        occurred_at=timezone.now(),
    )
    first = services.alert_report(client=client, key="k", request_hash=fingerprint, alert=payload)

    second = services.alert_report(client=client, key="k", request_hash=fingerprint, alert=payload)

    assert not first.replayed
    assert second.replayed
    assert second.body == first.body
    assert Hazard.objects.count() == 1
    with pytest.raises(services.IdempotencyKeyReused):
        services.alert_report(client=client, key="k", request_hash="0" * 64, alert=payload)


# --- concurrency on PostgreSQL -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
)
def test_concurrent_requests_with_the_same_key_open_exactly_one_hazard(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world()
    client = make_api_client(department=world.emergency, scopes=["alerts:write"])
    secrets = [client_token(client), client_token(client)]
    body = alert(world)
    key = str(uuid.uuid4())
    barrier = threading.Barrier(len(secrets))
    responses: list = []
    errors: list = []

    def send(secret: str) -> None:
        try:
            barrier.wait()
            responses.append(post(bearer(APIClient(), secret), body, key=key))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(secret,)) for secret in secrets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(r.status_code for r in responses) == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 1
    assert Hazard.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
)
def test_concurrent_requests_with_the_same_key_and_different_bodies(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world()
    client = make_api_client(department=world.emergency, scopes=["alerts:write"])
    calls = [
        (client_token(client), alert(world, value=30)),
        (client_token(client), alert(world, value=40)),
    ]
    barrier = threading.Barrier(len(calls))
    responses: list = []
    errors: list = []

    def send(secret: str, body: dict) -> None:
        try:
            barrier.wait()
            responses.append(post(bearer(APIClient(), secret), body, key="same"))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(r.status_code for r in responses) == [201, 422]
    assert Hazard.objects.count() == 1
