"""django-axes locks the (username, IP) pair after 5 failures for 30 minutes; attempts are logged."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.utils import timezone

LOGIN = "/accounts/login/"
NAT = "203.0.113.7"  # a whole enterprise behind one address


def attempt(client, username, password, ip=NAT):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail_five_times(client, username, ip=NAT):
    for _ in range(5):
        attempt(client, username, "Wrong-Passw0rd", ip)


def test_a_wrong_password_shows_a_chinese_error(client, user):
    response = attempt(client, user.username, "Wrong-Passw0rd")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_five_failures_lock_the_username_on_that_address(client, user, password):
    fail_five_times(client, user.username)
    response = attempt(client, user.username, password)
    assert response.status_code == 429
    assert "账号已临时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_user_behind_the_same_address_still_logs_in(client, user, other_user, password):
    fail_five_times(client, user.username)
    response = attempt(client, other_user.username, password)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other_user.pk)


def test_the_same_user_from_another_address_still_logs_in(client, user, password):
    fail_five_times(client, user.username)
    response = attempt(client, user.username, password, ip="198.51.100.20")
    assert response.status_code == 302


def test_four_failures_do_not_lock(client, user, password):
    for _ in range(4):
        attempt(client, user.username, "Wrong-Passw0rd")
    assert attempt(client, user.username, password).status_code == 302


def test_the_lock_lifts_thirty_minutes_after_the_last_attempt(client, user, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail_five_times(client, user.username)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert attempt(client, user.username, password).status_code == 429
    # Knocking while locked restarts the cool-off: 30 minutes counted from minute 29.
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert attempt(client, user.username, password).status_code == 429
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        assert attempt(client, user.username, password).status_code == 302


def test_every_attempt_is_logged(client, user, password):
    attempt(client, user.username, "Wrong-Passw0rd")
    attempt(client, user.username, password)
    assert AccessFailureLog.objects.filter(username=user.username, ip_address=NAT).count() == 1
    assert AccessLog.objects.filter(username=user.username, ip_address=NAT).count() == 1
    # A successful login resets the failure counter for that pair.
    assert not AccessAttempt.objects.filter(username=user.username).exists()
