"""Authentication: personal and API-client tokens, hashing, revocation, expiry, scopes, throttling."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.sites import site as admin_site
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Membership
from tests.api.conftest import (
    assert_error,
    bearer,
    client_token,
    make_api_client,
    personal_token,
)
from tests.factories import UserFactory
from workflows.api import services
from workflows.api.models import (
    PREFIX_LENGTH,
    ApiClient,
    ApiClientToken,
    PersonalToken,
    token_hash,
)

ME = reverse("api:me")


def _all_api_rows_as_text() -> str:
    """Every column of every row of the api tables, as one string (what a database dump holds)."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in ("api_personaltoken", "api_apiclienttoken", "api_apiclient"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


# --- personal tokens -------------------------------------------------------------------------


def test_a_personal_token_authenticates_as_its_user(world):
    response = bearer(APIClient(), personal_token(world.inspector)).get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "inspector"
    assert body["auth"] == "personal_token"
    assert body["client"] is None
    assert [m["department"]["code"] for m in body["memberships"]] == [world.emergency.code]


def test_the_database_never_holds_the_raw_token(world):
    secret = personal_token(world.inspector)
    client = make_api_client(department=world.emergency)
    client_secret = client_token(client)

    dump = _all_api_rows_as_text()
    for raw in (secret, client_secret):
        assert raw not in dump
        assert raw[PREFIX_LENGTH:] not in dump  # not even the random part without its prefix
    row = PersonalToken.objects.get()
    assert row.prefix == secret[:PREFIX_LENGTH]
    assert row.hash == token_hash(secret)
    assert len(row.hash) == 64
    assert row.hash != secret
    assert ApiClientToken.objects.get().hash == token_hash(client_secret)


def test_without_credentials_the_api_answers_401_not_a_login_redirect(db, api):
    response = api.get(ME)

    body = assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["errors"] == {}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Bearer scp_nottherightlength",
        "Bearer scp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer " + "a" * 500,
    ],
)
def test_malformed_or_unknown_tokens_are_refused_with_401(world, api, header):
    personal_token(world.inspector)  # a real token exists; none of these is it

    response = api.get(ME, HTTP_AUTHORIZATION=header)

    assert_error(response, 401, "authentication_failed")


def test_a_non_ascii_token_is_refused_with_401(world, api):
    response = api.get(
        ME, HTTP_AUTHORIZATION="Bearer scp_令牌令牌令牌令牌令牌令牌".encode().decode("latin-1")
    )

    assert_error(response, 401, "authentication_failed")


def test_revoking_a_token_takes_effect_on_the_very_next_request(world):
    secret = personal_token(world.inspector)
    api = bearer(APIClient(), secret)
    assert api.get(ME).status_code == 200
    token = PersonalToken.objects.get()

    assert api.delete(reverse("api:me-token-detail", args=[token.pk])).status_code == 204

    assert_error(api.get(ME), 401, "authentication_failed")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_expired_token_is_refused(world):
    secret = personal_token(world.inspector, expires_at=timezone.now() + timedelta(days=1))
    api = bearer(APIClient(), secret)
    assert api.get(ME).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert_error(api.get(ME), 401, "authentication_failed")


def test_a_deactivated_user_is_refused_at_once(world):
    api = bearer(APIClient(), personal_token(world.inspector))
    world.inspector.is_active = False
    world.inspector.save()

    assert_error(api.get(ME), 401, "authentication_failed")


def test_last_used_at_is_written_at_most_once_a_minute(world):
    api = bearer(APIClient(), personal_token(world.inspector))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get(ME)
    token = PersonalToken.objects.get()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        api.get(ME)
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get(ME)
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


def test_tokens_survive_a_secret_key_rotation_through_the_fallbacks(world, settings):
    old_key = settings.SECRET_KEY
    secret = personal_token(world.inspector)
    api = bearer(APIClient(), secret)

    settings.SECRET_KEY = "a-brand-new-secret-key-for-this-test-only-0123456789"
    assert_error(api.get(ME), 401, "authentication_failed")

    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert api.get(ME).status_code == 200
    # Re-hashed under the new key: it keeps working once the old key is dropped.
    assert PersonalToken.objects.get().hash == token_hash(secret)
    settings.SECRET_KEY_FALLBACKS = []
    assert api.get(ME).status_code == 200


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_works_and_its_writes_need_the_csrf_token(world):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(world.inspector)

    me = api.get(ME)
    assert me.status_code == 200
    assert me.json()["auth"] == "session"
    response = api.post(reverse("api:me-tokens"), {"name": "手机"}, format="json")
    assert_error(response, 403, "permission_denied")


def test_a_personal_token_is_minted_from_a_session_and_shown_once(world):
    api = APIClient()
    api.force_login(world.inspector)

    created = api.post(
        reverse("api:me-tokens"), {"name": "手机", "expires_in_days": 30}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert secret.startswith("scp_")
    assert body["prefix"] == secret[:PREFIX_LENGTH]
    assert body["active"] is True
    listed = api.get(reverse("api:me-tokens")).json()
    assert listed["count"] == 1
    assert "token" not in listed["results"][0]
    assert secret not in str(listed)
    assert bearer(APIClient(), secret).get(ME).json()["username"] == "inspector"


def test_a_token_cannot_mint_further_tokens(world, api_as):
    api = api_as(world.inspector)

    response = api.post(reverse("api:me-tokens"), {"name": "再来一个"}, format="json")

    assert_error(response, 403, "permission_denied")
    assert PersonalToken.objects.count() == 1


# --- API clients -------------------------------------------------------------------------------


def test_an_api_client_acts_as_its_service_user(world, api_as_client):
    api = api_as_client(["alerts:write"])
    client = api.api_client

    body = api.get(ME).json()

    assert body["auth"] == "client_token"
    assert body["client"] == {
        "name": client.name,
        "department": {"code": world.emergency.code, "name": world.emergency.name},
    }
    assert body["scopes"] == ["alerts:write"]
    user = client.service_user
    assert not user.has_usable_password()
    assert list(Membership.objects.filter(user=user).values_list("department", "role")) == [
        (world.emergency.pk, "staff")
    ]


def test_a_client_needs_the_scope_the_endpoint_declares(world, api_as_client):
    without = api_as_client(["alerts:write"])
    with_scope = api_as_client(["enterprises:read"])

    body = assert_error(without.get(reverse("api:enterprise-list")), 403, "permission_denied")
    assert "enterprises:read" in body["detail"]
    assert with_scope.get(reverse("api:enterprise-list")).status_code == 200


def test_clients_may_not_touch_personal_tokens(world, api_as_client):
    api = api_as_client()

    assert_error(api.get(reverse("api:me-tokens")), 403, "permission_denied")
    assert_error(
        api.post(reverse("api:me-tokens"), {"name": "x"}, format="json"), 403, "permission_denied"
    )


def test_deactivating_a_client_refuses_its_tokens_at_once(world, api_as_client):
    api = api_as_client()
    client = api.api_client
    assert api.get(ME).status_code == 200

    services.api_client_update(
        client=client,
        name=client.name,
        department=client.department,
        scopes=client.scopes,
        active=False,
    )

    assert_error(api.get(ME), 401, "authentication_failed")
    client.service_user.refresh_from_db()
    assert client.service_user.is_active is False


def test_moving_a_client_moves_its_service_user(world):
    client = make_api_client(department=world.emergency)

    services.api_client_update(
        client=client,
        name=client.name,
        department=world.city_emergency,
        scopes=client.scopes,
        active=True,
    )

    assert list(
        Membership.objects.filter(user=client.service_user).values_list("department", flat=True)
    ) == [world.city_emergency.pk]


def test_unknown_scopes_are_refused(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_api_client(department=world.emergency, scopes=["everything"])


# --- throttling --------------------------------------------------------------------------------


def _rates(settings, **rates):
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    )


def test_each_token_is_throttled_with_429_and_retry_after(world, settings):
    api = bearer(APIClient(), personal_token(world.inspector))
    with _rates(settings, api_token="2/min", api_user="100/min"):
        assert api.get(ME).status_code == 200
        assert api.get(ME).status_code == 200

        response = api.get(ME)

    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token of the same user has its own allowance.
    other = bearer(APIClient(), personal_token(world.inspector, name="second"))
    with _rates(settings, api_token="2/min", api_user="100/min"):
        assert other.get(ME).status_code == 200


def test_a_user_is_throttled_across_all_their_tokens_and_session(world, settings):
    first = bearer(APIClient(), personal_token(world.inspector))
    second = bearer(APIClient(), personal_token(world.inspector, name="second"))
    session = APIClient()
    session.force_login(world.inspector)
    with _rates(settings, api_token="100/min", api_user="3/min"):
        assert first.get(ME).status_code == 200
        assert second.get(ME).status_code == 200
        assert session.get(ME).status_code == 200

        assert_error(first.get(ME), 429, "throttled")
        assert_error(session.get(ME), 429, "throttled")
        # Other users are not affected.
        assert bearer(APIClient(), personal_token(world.head)).get(ME).status_code == 200


def test_the_throttle_window_passes(world, settings):
    api = bearer(APIClient(), personal_token(world.inspector))
    start = timezone.now()
    with _rates(settings, api_token="1/min", api_user="100/min"):
        with time_machine.travel(start, tick=False):
            assert api.get(ME).status_code == 200
            assert api.get(ME).status_code == 429
        with time_machine.travel(start + timedelta(seconds=61), tick=False):
            assert api.get(ME).status_code == 200


# --- the command and the admin -----------------------------------------------------------------


def test_the_command_prints_a_working_client_token(world):
    client = make_api_client(department=world.emergency, name="燃气监测平台")
    out = io.StringIO()

    call_command("api_token", "--client", "燃气监测平台", stdout=out)

    secret = out.getvalue().strip()
    assert secret.startswith("scc_")
    assert bearer(APIClient(), secret).get(ME).json()["client"]["name"] == client.name


def test_the_command_prints_a_working_personal_token(world):
    out = io.StringIO()

    call_command("api_token", "--user", "inspector", "--expires-in-days", "7", stdout=out)

    secret = out.getvalue().strip()
    assert bearer(APIClient(), secret).get(ME).json()["username"] == "inspector"
    assert PersonalToken.objects.get().expires_at is not None


@pytest.mark.parametrize(
    "args",
    [
        ["--client", "没有这个系统"],
        ["--user", "nobody"],
        ["--user", "inspector", "--expires-in-days", "0"],
    ],
)
def test_the_command_refuses_bad_input(world, args):
    with pytest.raises(CommandError):
        call_command("api_token", *args, stdout=io.StringIO())


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_the_admin_creates_a_client_with_its_service_user(world, client, superuser):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:api_apiclient_add"),
        {
            "name": "危化品监测预警系统",
            "department": world.emergency.pk,
            "scopes": ["alerts:write", "hazards:read"],
            "active": "on",
            "notes": "",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    api_client = ApiClient.objects.get()
    assert api_client.scopes == ["alerts:write", "hazards:read"]
    assert api_client.created_by == superuser
    assert Membership.objects.filter(
        user=api_client.service_user, department=world.emergency, role="staff"
    ).exists()


def test_the_admin_action_shows_a_new_token_once_and_revoke_refuses_it(world, client, superuser):
    api_client = make_api_client(department=world.emergency)
    client.force_login(superuser)
    changelist = reverse("admin:api_apiclient_changelist")

    response = client.post(
        changelist,
        {"action": "create_token", "_selected_action": [api_client.pk]},
        follow=True,
    )

    texts = [str(m) for m in get_messages(response.wsgi_request)] or [
        line for line in response.content.decode().splitlines() if "scc_" in line
    ]
    secret = next(
        word.strip("<>:;\"' ")
        for text in texts
        for word in text.split()
        if word.strip("<>:;\"' ").startswith("scc_")
    )
    api = bearer(APIClient(), secret)
    assert api.get(ME).status_code == 200

    client.post(changelist, {"action": "revoke_tokens", "_selected_action": [api_client.pk]})

    assert_error(api.get(ME), 401, "authentication_failed")


def test_the_admin_revokes_personal_tokens(world, client, superuser):
    api = bearer(APIClient(), personal_token(world.inspector))
    client.force_login(superuser)

    client.post(
        reverse("admin:api_personaltoken_changelist"),
        {"action": "revoke", "_selected_action": [PersonalToken.objects.get().pk]},
    )

    assert_error(api.get(ME), 401, "authentication_failed")


def test_the_admin_pages_render(world, client, superuser):
    api_client = make_api_client(department=world.emergency)
    client_token(api_client)
    personal_token(world.inspector)
    client.force_login(superuser)

    for name in ("apiclient", "apiclienttoken", "personaltoken", "idempotencyrecord"):
        assert client.get(reverse(f"admin:api_{name}_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:api_apiclient_change", args=[api_client.pk])).status_code == 200
    )
    assert client.get(reverse("admin:api_apiclient_add")).status_code == 200
    assert admin_site.is_registered(ApiClient)
