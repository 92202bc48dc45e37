"""Shared fixtures of the API tests (core and hazards).

- ``world``: the personas of ``tests/hazards/personas.py`` (a city with every role).
- ``api``: an anonymous DRF ``APIClient``.
- ``api_as(user)`` → an ``APIClient`` sending a fresh personal token of ``user`` (Bearer).
- ``api_as_client(scopes, department=None, name=None)`` → an ``APIClient`` sending a fresh token of a
  new API client (default department: the county emergency bureau of the world); the ``ApiClient``
  is on ``.api_client`` of the returned object.
- plain helpers for other modules: ``personal_token(user)``, ``client_token(client)``,
  ``make_api_client(...)``, ``bearer(api, secret)``, ``assert_error(response, status, type)``.

Every API test starts with an empty cache, so throttle counters never leak between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.hazards.personas import World, build_world
from workflows.api import services
from workflows.api.models import ApiClient

ALL_SCOPES = ("hazards:read", "hazards:write", "tasks:write", "alerts:write", "enterprises:read")


def personal_token(user: Any, *, name: str = "test", expires_at: Any = None) -> str:
    """The secret of a new personal token of ``user``."""
    _token, secret = services.personal_token_create(user=user, name=name, expires_at=expires_at)
    return secret


def make_api_client(
    *, department: Any, scopes: Iterable[str] = ALL_SCOPES, name: str | None = None
) -> ApiClient:
    """A new API client of ``department`` (with its service user)."""
    count = ApiClient.objects.count()
    return services.api_client_create(
        name=name or f"监测系统{count + 1}", department=department, scopes=list(scopes)
    )


def client_token(client: ApiClient) -> str:
    """The secret of a new token of ``client``."""
    _token, secret = services.api_client_token_create(client=client)
    return secret


def bearer(api: APIClient, secret: str) -> APIClient:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


def assert_error(response: Any, status: int, type_: str | None = None) -> dict[str, Any]:
    """Assert the one error shape (and status, and type slug); returns the body."""
    assert response.status_code == status, (response.status_code, getattr(response, "data", None))
    body = response.json()
    assert set(body) == {"type", "title", "detail", "errors"}, body
    assert isinstance(body["errors"], dict)
    assert body["title"]
    assert isinstance(body["detail"], str)
    if type_ is not None:
        assert body["type"] == type_, body
    return body


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterable[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db: Any, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_world()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(db: Any) -> Callable[..., APIClient]:
    def make(user: Any, **kwargs: Any) -> APIClient:
        return bearer(APIClient(), personal_token(user, **kwargs))

    return make


@pytest.fixture
def api_as_client(world: World) -> Callable[..., APIClient]:
    def make(
        scopes: Iterable[str] = ALL_SCOPES, *, department: Any = None, name: str | None = None
    ) -> APIClient:
        client = make_api_client(department=department or world.emergency, scopes=scopes, name=name)
        api = bearer(APIClient(), client_token(client))
        api.api_client = client  # type: ignore[attr-defined]
        return api

    return make
