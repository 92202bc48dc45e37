"""Sessions: 30 minutes idle, 12 hours absolute, a new key at login, logout kills the old key."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.contrib.sessions.models import Session
from django.utils import timezone

LOGIN = "/accounts/login/"


def login(client, user, password):
    response = client.post(LOGIN, {"username": user.username, "password": password})
    assert response.status_code == 302
    return response


def is_logged_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def test_login_issues_a_new_session_key(client, user, password):
    session = client.session  # the test client creates and saves an anonymous session
    session["probe"] = 1
    session.save()
    before = session.session_key
    login(client, user, password)
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_logout_invalidates_the_old_session_key(client, user, password):
    login(client, user, password)
    stolen = client.cookies["sessionid"].value
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=stolen).exists()
    client.cookies["sessionid"] = stolen  # replaying the old cookie does not log anyone in
    assert not is_logged_in(client)


def test_an_idle_session_expires_after_thirty_minutes(client, user, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, user, password)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert is_logged_in(client)
    # The request at minute 29 pushed the expiry forward (sliding), so minute 58 is still fine …
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert is_logged_in(client)
    # … but 31 idle minutes after that, the session is gone.
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        assert not is_logged_in(client)


def test_an_active_session_ends_after_twelve_hours(client, user, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, user, password)
    moment = start
    # Active every 20 minutes: the idle timeout never triggers.
    while moment + timedelta(minutes=20) < start + timedelta(hours=12):
        moment += timedelta(minutes=20)
        with time_machine.travel(moment, tick=False):
            assert is_logged_in(client), moment - start
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        assert not is_logged_in(client)


def test_the_idle_timeout_is_thirty_minutes_and_absolute_twelve_hours(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_TOUCH_SECONDS == 60
    assert settings.SESSION_ABSOLUTE_SECONDS == 12 * 60 * 60


def test_the_session_is_written_at_most_once_a_minute_and_never_outlives_the_idle_window(
    client, user, password
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, user, password)
    key = client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        assert is_logged_in(client)
    first = expiry()
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert is_logged_in(client)
    assert expiry() == first  # no write within the minute
    with time_machine.travel(start + timedelta(seconds=70), tick=False):
        assert is_logged_in(client)
    assert expiry() == start + timedelta(seconds=70, minutes=30)  # written: slid forward
    # Idle from second 70 on: alive at 29 min 59 s after it, gone at 30 min.
    with time_machine.travel(start + timedelta(seconds=70 + 30 * 60 - 1), tick=False):
        assert is_logged_in(client)
    with time_machine.travel(start + timedelta(seconds=70 + 30 * 60 - 1 + 30 * 60), tick=False):
        assert not is_logged_in(client)
