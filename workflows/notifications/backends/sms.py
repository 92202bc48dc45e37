"""SMS backends: a log file (the default: the demo and development need no gateway) and a generic
HTTP gateway configured in settings.

``settings.NOTIFICATIONS_SMS_GATEWAY`` for ``HttpGatewayBackend``::

    {
        "url": "https://sms.example.gov.cn/send",
        # string.Template placeholders: $mobile, $text, $key (JSON-escaped for a JSON body,
        # URL-encoded for a form body)
        "template": '{"phone": "$mobile", "content": "$text", "requestId": "$key"}',
        "content_type": "application/json",   # or "application/x-www-form-urlencoded"
        "headers": {"Authorization": "Bearer …"},
        "timeout": 10,
    }
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from string import Template
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from . import OutgoingMessage, PermanentDeliveryError
from .transport import post

DEFAULT_GATEWAY_TEMPLATE = '{"mobile": "$mobile", "text": "$text", "key": "$key"}'


def sms_text(message: OutgoingMessage) -> str:
    """One line: title, body and link, whitespace collapsed, cut to NOTIFICATIONS_SMS_MAX_LENGTH."""
    parts = [" ".join(message.title.split())]
    body = " ".join(message.body.split())
    if body:
        parts.append(body)
    text = "：".join(parts)
    limit = int(getattr(settings, "NOTIFICATIONS_SMS_MAX_LENGTH", 300))
    link = f" {message.link}" if message.link else ""
    room = max(limit - len(link), 20)
    if len(text) > room:
        text = text[: room - 1] + "…"
    return text + link


def sms_log_path() -> Path:
    """The log file of LogFileBackend: settings.NOTIFICATIONS_SMS_LOG, default ``VAR_DIR/sms.log``."""
    return Path(getattr(settings, "NOTIFICATIONS_SMS_LOG", settings.VAR_DIR / "sms.log"))


class LogFileBackend:
    """Appends one tab-separated line per SMS: time, mobile, key, text."""

    def send(self, message: OutgoingMessage) -> None:
        """Raises PermanentDeliveryError without a mobile number."""
        if not message.address:
            raise PermanentDeliveryError("no mobile number")
        path = sms_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = "\t".join(
            [timezone.now().isoformat(), message.address, message.key, sms_text(message)]
        )
        # One write() per line in append mode: concurrent workers never interleave a line.
        with path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")


class HttpGatewayBackend:
    """POSTs the configured template to an SMS gateway; 2xx is success, 4xx permanent, else retry."""

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = dict(getattr(settings, "NOTIFICATIONS_SMS_GATEWAY", {}) or {})
        if not config.get("url"):
            raise ImproperlyConfigured("NOTIFICATIONS_SMS_GATEWAY['url'] is not set")
        return config

    def render(self, message: OutgoingMessage, config: dict[str, Any]) -> tuple[bytes, str]:
        """The request body and its content type, with every value escaped for that type."""
        content_type = config.get("content_type", "application/json")
        values = {"mobile": message.address, "text": sms_text(message), "key": message.key}
        if content_type.startswith("application/json"):
            escaped = {
                name: json.dumps(value, ensure_ascii=False)[1:-1] for name, value in values.items()
            }
        else:
            escaped = {name: urllib.parse.quote_plus(value) for name, value in values.items()}
        body = Template(config.get("template", DEFAULT_GATEWAY_TEMPLATE)).substitute(escaped)
        return body.encode("utf-8"), content_type

    def send(self, message: OutgoingMessage) -> None:
        """Raises PermanentDeliveryError without a mobile number or on a 4xx answer."""
        if not message.address:
            raise PermanentDeliveryError("no mobile number")
        config = self.config()
        body, content_type = self.render(message, config)
        headers = {
            "Content-Type": f"{content_type}; charset=utf-8",
            "Idempotency-Key": message.key,
            **config.get("headers", {}),
        }
        post(config["url"], body, headers, timeout=float(config.get("timeout", 10)))
