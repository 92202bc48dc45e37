"""The "is this message still needed?" hook, set by the apps that create notifications.

notifications must not import the apps that use it (deadlines, hazards). Those register a callable in
their ``AppConfig.ready()``; delivery calls every registered callable with the outbox row just before
sending and cancels the row when any of them answers False. The deadline id and generation are part
of the row's key (``…:deadline:<id>:gen:<n>:…``); ``key_fields()`` splits such a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Outbox

StillNeeded = Callable[["Outbox"], bool]

_still_needed: list[StillNeeded] = []


def register_still_needed(func: StillNeeded) -> StillNeeded:
    """Register ``func(outbox) -> bool``; registering the same callable twice keeps one copy
    (``ready()`` may run more than once in tests). Usable as a decorator."""
    if func not in _still_needed:
        _still_needed.append(func)
    return func


def unregister_still_needed(func: StillNeeded) -> None:
    """Remove ``func`` (tests use this to restore the registry)."""
    if func in _still_needed:
        _still_needed.remove(func)


def still_needed(outbox: Outbox) -> bool:
    """True unless a registered hook says the message is no longer needed. A hook that raises
    makes the delivery fail (and be retried) rather than send something possibly stale."""
    return all(hook(outbox) for hook in list(_still_needed))


def key_fields(key: str) -> dict[str, str]:
    """Split ``"hazard:12:deadline:34:gen:2:step:1:user:5"`` into ``{"hazard": "12", "deadline":
    "34", "gen": "2", "step": "1", "user": "5"}`` (name:value pairs; a trailing odd part is ignored)."""
    parts = key.split(":")
    return dict(zip(parts[0::2], parts[1::2], strict=False))
