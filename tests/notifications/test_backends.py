"""Channel backends on their own: the SMS gateway, the webhook signature, HTTP outcomes, the registry."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import urllib.parse

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.notifications.servers import serve
from workflows.notifications.backends import (
    DeliveryError,
    OutgoingMessage,
    PermanentDeliveryError,
    get_backend,
)
from workflows.notifications.backends.sms import HttpGatewayBackend, LogFileBackend, sms_text
from workflows.notifications.backends.transport import post
from workflows.notifications.backends.webhook import WebhookBackend, encode, sign

MESSAGE = OutgoingMessage(
    key="hazard:1:deadline:2:gen:1:step:0:user:3",
    channel="sms",
    address="13812345678",
    title='隐患 "HZ-1" 将到期',
    body="请尽快整改 & 上报",
    link="https://anlian.example.cn/hazards/1/",
)


def test_the_gateway_gets_the_template_with_json_escaped_values(settings):
    with serve([200]) as gateway:
        settings.NOTIFICATIONS_SMS_GATEWAY = {
            "url": gateway.url,
            "template": '{"phone": "$mobile", "content": "$text", "requestId": "$key"}',
            "headers": {"Authorization": "Bearer t0ken"},
            "timeout": 5,
        }
        HttpGatewayBackend().send(MESSAGE)

    [request] = gateway.received
    assert request.json() == {
        "phone": "13812345678",
        "content": sms_text(MESSAGE),
        "requestId": MESSAGE.key,
    }
    assert '"HZ-1"' in request.json()["content"]
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Idempotency-Key"] == MESSAGE.key


def test_the_gateway_can_take_a_form_body(settings):
    with serve([200]) as gateway:
        settings.NOTIFICATIONS_SMS_GATEWAY = {
            "url": gateway.url,
            "template": "to=$mobile&msg=$text",
            "content_type": "application/x-www-form-urlencoded",
        }
        HttpGatewayBackend().send(MESSAGE)
    fields = urllib.parse.parse_qs(gateway.received[0].body.decode())
    assert fields == {"to": ["13812345678"], "msg": [sms_text(MESSAGE)]}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, DeliveryError),
        (503, DeliveryError),
        (429, DeliveryError),
        (400, PermanentDeliveryError),
    ],
)
def test_gateway_answers_are_classified(settings, status, error):
    with serve([status]) as gateway:
        settings.NOTIFICATIONS_SMS_GATEWAY = {"url": gateway.url}
        with pytest.raises(error) as raised:
            HttpGatewayBackend().send(MESSAGE)
    assert type(raised.value) is error


def test_a_gateway_without_a_url_is_a_configuration_error(settings):
    settings.NOTIFICATIONS_SMS_GATEWAY = {"template": "$text"}
    with pytest.raises(ImproperlyConfigured):
        HttpGatewayBackend().send(MESSAGE)


def test_the_registry_follows_the_settings_override(settings):
    assert isinstance(get_backend("sms"), LogFileBackend)
    settings.NOTIFICATIONS_BACKENDS = {
        "sms": "workflows.notifications.backends.sms.HttpGatewayBackend"
    }
    assert isinstance(get_backend("sms"), HttpGatewayBackend)
    with pytest.raises(KeyError):
        get_backend("fax")


def test_a_redirect_is_not_followed_and_fails_permanently():
    with serve(["redirect"]) as server:
        with pytest.raises(PermanentDeliveryError, match="302"):
            post(server.url, b"{}", {}, timeout=5)
        assert len(server.received) == 1


def test_an_unreachable_endpoint_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as raised:
        post(f"http://127.0.0.1:{port}/hook", b"{}", {}, timeout=2)
    assert type(raised.value) is DeliveryError


def test_a_hanging_endpoint_times_out_as_retryable():
    with serve(["hang"]) as server:
        with pytest.raises(DeliveryError) as raised:
            post(server.url, b"{}", {}, timeout=0.5)
        server.release()
    assert type(raised.value) is DeliveryError


def test_only_http_urls_are_called():
    with pytest.raises(PermanentDeliveryError, match="scheme"):
        post("file:///etc/passwd", b"", {}, timeout=1)


def test_the_signature_is_hmac_sha256_of_the_exact_body():
    message = OutgoingMessage(
        key="k:1", channel="webhook", address="http://x", title="标题", body="正文", secret="abc"
    )
    body = encode(message)
    assert json.loads(body)["title"] == "标题"
    assert "标题".encode() in body  # UTF-8, not \u-escaped
    assert sign(body, "abc") == "sha256=" + hmac.new(b"abc", body, hashlib.sha256).hexdigest()
    assert sign(body, "abc") != sign(body + b" ", "abc")


def test_a_webhook_without_a_secret_is_refused():
    message = OutgoingMessage(key="k", channel="webhook", address="http://x", title="t", body="")
    with pytest.raises(PermanentDeliveryError, match="secret"):
        WebhookBackend().send(message)


def test_a_long_sms_is_cut_but_keeps_its_link(settings):
    settings.NOTIFICATIONS_SMS_MAX_LENGTH = 60
    message = OutgoingMessage(
        key="k",
        channel="sms",
        address="1",
        title="标题",
        body="很长的正文" * 50,
        link="https://a/b",
    )
    text = sms_text(message)
    assert len(text) == 60
    assert text.endswith("… https://a/b")
