"""Webhook: a signed JSON POST to the department's endpoint.

The body is the same bytes on every attempt (no attempt counter or send time in it), so a receiver
can compare bodies as well as the ``Idempotency-Key``. Headers:

- ``X-SafeChain-Signature: sha256=<hex>`` — HMAC-SHA256 of the raw body with the endpoint's secret;
- ``Idempotency-Key`` — the outbox key: at-least-once delivery may repeat a call, never with a new key;
- ``X-SafeChain-Attempt`` — which attempt this is (1, 2, …).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings

from . import OutgoingMessage, PermanentDeliveryError
from .transport import post

SIGNATURE_HEADER = "X-SafeChain-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def payload(message: OutgoingMessage) -> dict[str, Any]:
    """The JSON document sent for ``message``."""
    return {
        "key": message.key,
        "title": message.title,
        "body": message.body,
        "link": message.link,
        "subject": {"type": message.subject_type, "id": message.subject_id},
        "department": message.department_code,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def encode(message: OutgoingMessage) -> bytes:
    """The raw body: compact, sorted keys, UTF-8 (Chinese is not \\u-escaped)."""
    return json.dumps(
        payload(message), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


class WebhookBackend:
    """POSTs the signed payload; 2xx is success, 408/425/429/5xx and network errors are retried,
    any other answer (including a redirect) is a permanent failure."""

    def send(self, message: OutgoingMessage) -> None:
        """Raises PermanentDeliveryError without an endpoint URL or secret."""
        if not message.address:
            raise PermanentDeliveryError("no webhook endpoint")
        if not message.secret:
            raise PermanentDeliveryError("the webhook endpoint has no signing secret")
        body = encode(message)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "SafeChain-Notifications/1",
            SIGNATURE_HEADER: sign(body, message.secret),
            IDEMPOTENCY_HEADER: message.key,
            "X-SafeChain-Attempt": str(message.attempt),
        }
        timeout = float(getattr(settings, "NOTIFICATIONS_WEBHOOK_TIMEOUT", 10))
        post(message.address, body, headers, timeout=timeout)
