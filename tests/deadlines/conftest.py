"""Fixtures of the deadlines tests: a fake subject handler and a recording stand-in for notify().

The stand-in keeps notify()'s contract that matters here: a key seen before inserts nothing (returns
0), a new key returns 1 in-app row (when there is a user) plus one row per external channel.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workflows.deadlines import calendar, registry
from workflows.deadlines.registry import Message, Recipient

TZ = ZoneInfo("Asia/Shanghai")
SUBJECT = "tests.thing"


def local(*args: int) -> datetime:
    """An aware Asia/Shanghai datetime."""
    return datetime(*args, tzinfo=TZ)


class FakeHandler:
    """Resolves each role to fixed recipients; ``needed`` answers still_needed()."""

    def __init__(self, people: dict[str, list[Recipient]]) -> None:
        self.people = people
        self.needed = True
        self.described: list[tuple[int, str, int]] = []

    def resolve(self, deadline: Any, roles: Sequence[str]) -> list[Recipient]:
        return [person for role in roles for person in self.people.get(role, [])]

    def still_needed(self, deadline: Any) -> bool:
        return self.needed

    def describe(self, deadline: Any, action: Any) -> Message:
        self.described.append((deadline.pk, action.action, action.step))
        return Message(
            title=f"{action.action} {deadline.stage}",
            body=f"due {deadline.due_at.isoformat()}",
            link=f"/things/{deadline.subject_id}/",
        )


class NotifyRecorder:
    """Records notify() calls (thread-safe) with the unique-key behaviour of the real one."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> int:
        with self._lock:
            self.calls.append(kwargs)
            if kwargs["key"] in self._seen:
                return 0
            self._seen.add(kwargs["key"])
            inapp = 1 if kwargs.get("user_id") is not None else 0
            return inapp + len([c for c in kwargs["channels"] if c != "inapp"])

    @property
    def keys(self) -> list[str]:
        return [c["key"] for c in self.calls]

    def key_counts(self) -> Counter[str]:
        return Counter(self.keys)

    def actions(self) -> list[str]:
        """The distinct (in order) ``step`` parts of the keys seen."""
        steps: list[str] = []
        for key in self.keys:
            step = key.split(":step:")[1].split(":")[0]
            if step not in steps:
                steps.append(step)
        return steps


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    # Test transactions roll back without signals: never let one test's calendar leak into another.
    calendar.clear_cache()
    yield
    calendar.clear_cache()


@pytest.fixture
def people() -> dict[str, list[Recipient]]:
    return {
        "assignee": [Recipient(user_id=101, role="assignee", channels=("inapp", "email", "sms"))],
        "enterprise_principal": [
            Recipient(user_id=102, role="enterprise_principal", channels=("inapp", "sms"))
        ],
        "department_head": [
            Recipient(
                user_id=103,
                role="department_head",
                channels=("inapp", "email"),
                email="head@example.cn",
                digest=True,
            )
        ],
        "territorial": [Recipient(user_id=104, role="territorial", channels=("inapp", "email"))],
        "county_committee": [
            Recipient(
                user_id=105, role="county_committee", channels=("inapp", "email"), digest=True
            )
        ],
        "city_committee": [
            Recipient(user_id=106, role="city_committee", channels=("inapp", "email"), digest=True),
            Recipient(
                user_id=None, role="city_committee", channels=("webhook",), webhook_department_id=9
            ),
        ],
    }


@pytest.fixture
def handler(people: dict[str, list[Recipient]]) -> Iterator[FakeHandler]:
    fake = FakeHandler(people)
    registry.register(SUBJECT, fake)
    yield fake
    registry.unregister(SUBJECT)


@pytest.fixture
def notify(monkeypatch: pytest.MonkeyPatch) -> NotifyRecorder:
    recorder = NotifyRecorder()
    monkeypatch.setattr(
        "workflows.deadlines.services._notify_many",
        lambda requests: sum(recorder(**request) for request in requests),
    )
    return recorder
