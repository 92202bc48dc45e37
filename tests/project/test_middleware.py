"""Server-Timing: every response says how long this process spent on it."""

from __future__ import annotations

import re
from unittest import mock

from django.http import HttpResponse
from django.test import RequestFactory

from project.middleware import ServerTimingMiddleware

TIMING = re.compile(r"^app;dur=(\d+\.\d)$")


def test_every_response_carries_the_server_time_even_a_redirect(client, db):
    for path, status in (("/accounts/login/", 200), ("/", 302), ("/healthz", None)):
        response = client.get(path)
        if status is not None:
            assert response.status_code == status
        assert TIMING.match(response["Server-Timing"]), (path, response["Server-Timing"])


def test_the_figure_is_the_time_spent_inside_in_milliseconds():
    middleware = ServerTimingMiddleware(lambda request: HttpResponse("ok"))
    with mock.patch("project.middleware.perf_counter", side_effect=[10.0, 10.2345]):
        response = middleware(RequestFactory().get("/"))
    assert response["Server-Timing"] == "app;dur=234.5"
