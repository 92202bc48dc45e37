"""One error shape, translated, and never a 500 for anything a client can send."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from rest_framework import exceptions
from viewflow.workflow.exceptions import FlowLockFailed

from tests.api.conftest import assert_error
from tests.factories import EnterpriseFactory
from workflows.api.errors import api_not_found, to_problem
from workflows.api.services import IdempotencyKeyReused
from workflows.hazards.evidence import EvidenceError
from workflows.hazards.services import HazardStateError

CJK = re.compile(r"[\u4e00-\u9fff]")
TOKENS = reverse("api:me-tokens")


@pytest.fixture
def session_api(world):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(world.inspector)
    return api


# --- mapping of exceptions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "type_"),
    [
        (ValidationError({"grade": ["Unknown grade."]}), 400, "validation_error"),
        (ValidationError("Nobody can triage this."), 400, "validation_error"),
        (HazardStateError("Completed by someone else."), 409, "conflict"),
        (FlowLockFailed("locked"), 409, "conflict"),
        (EvidenceError("too big", code="too_large"), 413, "payload_too_large"),
        (RequestDataTooBig("big"), 413, "payload_too_large"),
        (TooManyFieldsSent("many"), 400, "bad_request"),
        (PermissionDenied("You may not take this step."), 403, "permission_denied"),
        (Http404("No Hazard matches the given query."), 404, "not_found"),
        (exceptions.Throttled(wait=12.2), 429, "throttled"),
        (exceptions.MethodNotAllowed("PATCH"), 405, "method_not_allowed"),
        (IdempotencyKeyReused("k"), 422, "idempotency_key_reused"),
    ],
)
def test_exceptions_map_to_status_and_type(exc, status, type_):
    problem = to_problem(exc)

    assert problem is not None
    assert (problem.status, problem.type) == (status, type_)
    assert set(problem.body()) == {"type", "title", "detail", "errors"}


def test_field_errors_of_services_keep_their_fields_and_all_becomes_non_field_errors():
    problem = to_problem(ValidationError({"deadline_on": ["past"], "__all__": ["both"]}))

    assert problem is not None
    assert problem.errors == {"deadline_on": ["past"], "non_field_errors": ["both"]}


def test_nested_drf_errors_are_flattened_with_dots():
    problem = to_problem(
        exceptions.ValidationError({"plan": {"items": [{"cost": ["bad"]}]}, "name": ["x"]})
    )

    assert problem is not None
    assert problem.errors == {"plan.items.0.cost": ["bad"], "name": ["x"]}


def test_404_never_echoes_the_internal_message():
    problem = to_problem(Http404("No Hazard matches the given query."))

    assert problem is not None
    assert "Hazard" not in problem.detail


def test_throttled_sets_retry_after():
    problem = to_problem(exceptions.Throttled(wait=12.2))

    assert problem is not None
    assert problem.headers["Retry-After"] == "13"


def test_a_bug_stays_a_500():
    assert to_problem(ZeroDivisionError()) is None


def test_unknown_api_paths_can_answer_json_404():
    response = api_not_found(RequestFactory().get("/api/v1/nothing-here"))

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"


# --- over HTTP ---------------------------------------------------------------------------------


def test_malformed_json_is_a_400(session_api):
    response = session_api.post(TOKENS, '{"name": ', content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_nan_in_json_is_a_400(session_api):
    response = session_api.post(
        TOKENS, '{"name": "x", "expires_in_days": NaN}', content_type="application/json"
    )

    assert_error(response, 400)


def test_a_json_list_instead_of_an_object_is_a_400(session_api):
    response = session_api.post(TOKENS, "[1, 2]", content_type="application/json")

    body = assert_error(response, 400, "validation_error")
    assert "non_field_errors" in body["errors"]


def test_an_unsupported_content_type_is_a_415(session_api):
    response = session_api.post(TOKENS, "name=x", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_a_json_body_over_the_limit_is_a_413(session_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = session_api.post(TOKENS, {"name": "x" * 2000}, format="json")

    assert_error(response, 413, "payload_too_large")


def test_a_form_body_over_the_limit_is_a_413(session_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = session_api.post(TOKENS, {"name": "x" * 2000}, format="multipart")

    assert_error(response, 413, "payload_too_large")


def test_a_method_that_does_not_exist_is_a_405(session_api):
    response = session_api.patch(reverse("api:me"), {}, format="json")

    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize("page", ["999999999", "0", "-1", "abc", "1e400", "9" * 40])
def test_impossible_page_numbers_are_a_404(session_api, page):
    response = session_api.get(reverse("api:enterprise-list"), {"page": page})

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("size", ["0", "-5", "abc", "100000", "9" * 40])
def test_odd_page_sizes_fall_back_or_are_capped(session_api, size):
    response = session_api.get(reverse("api:enterprise-list"), {"page_size": size})

    assert response.status_code == 200


def test_the_page_size_is_capped_at_100(world, session_api):
    EnterpriseFactory.create_batch(105, region=world.township)

    body = session_api.get(reverse("api:enterprise-list"), {"page_size": 500}).json()

    assert body["count"] == 106
    assert len(body["results"]) == 100
    assert body["next"]


@pytest.mark.parametrize("pk", ["abc", "-1", "0", "99999999999999999999999999", "1.5", "%00"])
def test_non_integer_or_huge_ids_are_a_json_404(session_api, pk):
    response = session_api.delete(f"{TOKENS}/{pk}")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "uscc", ["x", "91%2F", "%F0%9F%92%A3", "0" * 300, "9114000011111111X%00", "  "]
)
def test_odd_uscc_in_the_path_is_a_json_404(session_api, uscc):
    response = session_api.get(f"/api/v1/enterprises/{uscc}")

    assert_error(response, 404, "not_found")


def test_odd_query_parameters_are_a_400_not_a_500(world, session_api):
    uscc = world.enterprise.uscc
    for params in (
        {"on": "2024-02-30"},
        {"on": "99999-01-01"},
        {"on": "\x00"},
        {"grade": "\x00"},
        {"industry": "x" * 5000},
        {"industry": "\x00"},
        {"post": "\x00"},
    ):
        response = session_api.get(reverse("api:enterprise-chain", args=[uscc]), params)
        assert_error(response, 400, "validation_error")
    for params in (
        {"region": "\x00"},
        {"status": "\x00"},
        {"industry": "%"},
        {"industry": "\x00"},
        {"q": "\x00"},
    ):
        response = session_api.get(reverse("api:enterprise-list"), params)
        assert_error(response, 400, "validation_error")


# --- language ----------------------------------------------------------------------------------


def test_errors_are_in_chinese_when_the_request_prefers_it(session_api):
    response = session_api.post(TOKENS, {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")

    body = assert_error(response, 400, "validation_error")
    assert CJK.search(body["errors"]["name"][0])


def test_errors_are_in_english_when_the_request_prefers_it(session_api):
    response = session_api.post(TOKENS, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    body = assert_error(response, 400, "validation_error")
    assert body["errors"]["name"] == ["This field is required."]
    assert body["title"] == "The request has invalid fields."


def test_chinese_is_the_default(session_api):
    response = session_api.post(TOKENS, {}, format="json")

    assert CJK.search(assert_error(response, 400)["errors"]["name"][0])


def test_authentication_errors_are_translated_too(db):
    from rest_framework.test import APIClient

    english = APIClient().get(reverse("api:me"), HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = APIClient().get(reverse("api:me"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").json()

    assert english["detail"] == "Authentication credentials were not provided."
    assert CJK.search(chinese["detail"])


def test_an_empty_or_foreign_accept_header_still_gets_json(db):
    from django.test import Client

    client = Client()
    for accept in ("", "text/csv"):
        response = client.get("/api/v1/me", HTTP_ACCEPT=accept)
        assert response.status_code == 401, accept
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["type"]
