"""A minimal HTTP POST on urllib for the webhook and the SMS gateway: no redirects, a timeout, and
the answer classified into success, permanent failure and retryable failure."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from . import DeliveryError, PermanentDeliveryError

# Worth retrying: timeouts, rate limits and server errors. Every other non-2xx answer is final.
RETRYABLE_STATUS = frozenset({408, 425, 429})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirected POST would drop its body or change method: treat 3xx as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST ``body`` to ``url``; returns the 2xx status or raises (Permanent)DeliveryError."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in {"http", "https"}:
        raise PermanentDeliveryError(f"unsupported URL scheme {scheme!r}")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(1024)  # let the server finish; the answer itself is not used
            return int(response.status)
    except urllib.error.HTTPError as exc:
        detail = f"HTTP {exc.code} from {url}"
        if exc.code >= 500 or exc.code in RETRYABLE_STATUS:
            raise DeliveryError(detail) from exc
        raise PermanentDeliveryError(detail) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{type(exc).__name__}: {reason} ({url})") from exc
