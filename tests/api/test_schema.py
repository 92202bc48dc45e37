"""Schemathesis against the live OpenAPI schema: every operation, authenticated, no 5xx, and every
response as documented.

The schema is loaded from the running Django app (``/api/schema/`` through the WSGI application), so
endpoints added later are covered without touching this file. Calls carry a personal token of a
county emergency-bureau inspector, with a city, enterprises and a hazard in the database; alert intake
(people get 403 there) is called with a token of an API client holding every scope. Hypothesis runs
derandomized with a small budget so the whole run takes a couple of minutes.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from project.wsgi import application
from tests.api.conftest import client_token, make_api_client, personal_token
from tests.hazards.personas import photo
from workflows.api.models import ApiClientToken, PersonalToken
from workflows.hazards import services as hazard_services

CLIENT_ONLY_PATHS = {"/api/v1/alerts"}
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Any:
    """The WSGI app closes "old" connections around each request; on PostgreSQL that would close the
    test's own transaction. Django's test client disconnects the same handler."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(world: Any, settings: Any) -> dict[str, Any]:
    # Thousands of requests in a minute: the rate limits would answer 429 to most of them.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_token": None, "api_user": None},
    }
    hazard = hazard_services.hazard_report(
        reporter=world.inspector,
        enterprise=world.enterprise,
        title="储罐区静电接地失效",
        description="2号储罐静电接地线断开",
        location="储罐区",
        source="routine",
        before_photos=[photo()],
    )
    client = make_api_client(department=world.emergency, name="schemathesis")
    return {
        "person": personal_token(world.inspector),
        "client": client_token(client),
        "uscc": world.enterprise.uscc,
        "code": hazard.code,
    }


# Loaded once, at collection, from the live app (no database is needed to build the schema).
# (``schemathesis.pytest.from_fixture`` would be lazier, but 4.32 touches ``Node._nodeid``, which
# pytest 9 no longer has.)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def _restore_credentials() -> None:
    """A fuzzed DELETE /me/tokens/{id} may hit the test's own token: keep every token usable."""
    PersonalToken.objects.update(revoked_at=None)
    ApiClientToken.objects.update(revoked_at=None)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_and_never_5xx(case: Any, credentials: Any) -> None:
    _call_and_validate(case, credentials)
    # Random codes almost never name a real row: call again pinned to the data in the database, so
    # the success answers (and the parameters and bodies around them) are checked too.
    if _pin_to_real_data(case, credentials):
        _call_and_validate(case, credentials)


def _call_and_validate(case: Any, credentials: dict[str, Any]) -> None:
    secret = credentials["client" if case.operation.path in CLIENT_ONLY_PATHS else "person"]
    response = case.call(headers={"Authorization": f"Bearer {secret}"})
    _restore_credentials()
    case.validate_response(response, checks=CHECKS)


def _pin_to_real_data(case: Any, credentials: dict[str, Any]) -> bool:
    pinned = False
    path_parameters = case.path_parameters or {}
    for name in ("uscc", "code"):
        if name in path_parameters:
            path_parameters[name] = credentials[name]
            pinned = True
    if isinstance(case.body, dict) and "uscc" in case.body:
        case.body["uscc"] = credentials["uscc"]
        pinned = True
    return pinned


def test_the_schema_documents_bearer_auth_and_the_error_shape(db: Any, client: Any) -> None:
    document = client.get("/api/schema/?format=json").json()

    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert set(document["components"]["schemas"]["Error"]["properties"]) == {
        "type",
        "title",
        "detail",
        "errors",
    }
    alerts = document["paths"]["/api/v1/alerts"]["post"]
    assert {"201", "400", "401", "403", "422", "429"} <= set(alerts["responses"])
    assert any(
        p["name"] == "Idempotency-Key" and p["in"] == "header" and p["required"]
        for p in alerts["parameters"]
    )


def test_the_docs_page_is_served_without_internet(db: Any, client: Any) -> None:
    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert "cdn" not in page.content.decode().lower()
