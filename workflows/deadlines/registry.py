"""The contract between the generic deadlines app and the apps whose subjects have deadlines.

A subject app (hazards, later inspections …) registers one ``SubjectHandler`` per subject type
(``"app_label.model"``) in its ``AppConfig.ready()``. The sweep asks the handler three things:

- ``resolve(deadline, roles)``: the people (or departments) behind the chain roles an action names.
  ``Recipient.channels`` says where the recipient *can* be reached (an in-app user, an e-mail address,
  a mobile number, a department webhook); the sweep sends an action's channels that the recipient can
  receive (an empty tuple means "anything the action names"). ``digest=True`` marks heads and committee
  offices: their e-mail/SMS are grouped into one digest per recipient per sweep window.
- ``still_needed(deadline)``: False once the stage is over or the deadline's generation is stale; the
  sweep closes such a row instead of notifying, and delivery re-checks it before anything leaves.
- ``describe(deadline, action)``: the title, body (translated) and link of the message for one action.
- ``record(deadline, action, recipients, message)`` (optional): keep the fired action on the
  subject's own record (an audit event), in the sweep's transaction.
- ``bind(deadlines)`` (optional): a ``SubjectBatch`` for one claimed batch — the same questions
  answered from data loaded once for all the rows (a handler without it is asked row by row, one
  query or more per question). Its ``record`` may buffer; ``flush()`` writes what it buffered.

This module imports nothing of the subject apps: dependencies point subject app → deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .models import Deadline
    from .policy import Action

# Chain roles a policy may name; the subject app resolves each to people.
ROLE_ASSIGNEE = "assignee"
ROLES: tuple[str, ...] = (
    ROLE_ASSIGNEE,  # the task owner, or the staff of the queue the task sits in
    "enterprise_principal",
    "enterprise_safety",
    "department_staff",
    "department_head",
    "territorial",
    "county_committee",
    "city_committee",
)

CHANNEL_INAPP = "inapp"
CHANNELS: tuple[str, ...] = (CHANNEL_INAPP, "email", "sms", "webhook")


@dataclass(frozen=True)
class Recipient:
    """One addressee of an action: a user (``user_id``) or, for webhooks, a department."""

    user_id: int | None
    role: str
    channels: tuple[str, ...]
    email: str = ""
    mobile: str = ""
    webhook_department_id: int | None = None
    digest: bool = False


@dataclass(frozen=True)
class Message:
    """What a notification says: ``title`` and ``body`` already translated, ``link`` a site path."""

    title: str
    body: str
    link: str = ""


class SubjectHandler(Protocol):
    def resolve(self, deadline: Deadline, roles: Sequence[str]) -> list[Recipient]: ...

    def still_needed(self, deadline: Deadline) -> bool: ...

    def describe(self, deadline: Deadline, action: Action) -> Message: ...

    def record(
        self,
        deadline: Deadline,
        action: Action,
        recipients: Sequence[Recipient],
        message: Message,
    ) -> None:
        """Called once per fired action, in the sweep's transaction (e.g. an audit event)."""
        ...


class SubjectBatch(Protocol):
    """A handler bound to one batch of claimed rows (``SubjectHandler.bind``)."""

    def resolve(self, deadline: Deadline, roles: Sequence[str]) -> list[Recipient]: ...

    def still_needed(self, deadline: Deadline) -> bool: ...

    def describe(self, deadline: Deadline, action: Action) -> Message: ...

    def record(
        self,
        deadline: Deadline,
        action: Action,
        recipients: Sequence[Recipient],
        message: Message,
    ) -> None: ...

    def flush(self) -> None:
        """Write what ``record`` buffered (the sweep calls it once, before the batch commits)."""
        ...


class _RowByRow:
    """A handler without ``bind`` seen as a batch: each question goes to the handler itself."""

    def __init__(self, handler: SubjectHandler) -> None:
        self.handler = handler

    def resolve(self, deadline: Deadline, roles: Sequence[str]) -> list[Recipient]:
        return self.handler.resolve(deadline, roles)

    def still_needed(self, deadline: Deadline) -> bool:
        return self.handler.still_needed(deadline)

    def describe(self, deadline: Deadline, action: Action) -> Message:
        return self.handler.describe(deadline, action)

    def record(
        self,
        deadline: Deadline,
        action: Action,
        recipients: Sequence[Recipient],
        message: Message,
    ) -> None:
        record = getattr(self.handler, "record", None)
        if record is not None:
            record(deadline, action, recipients, message)

    def flush(self) -> None:
        return None


def bind(handler: SubjectHandler, deadlines: Sequence[Deadline]) -> SubjectBatch:
    """``handler`` bound to ``deadlines``: its own ``bind`` when it has one, else row by row."""
    bind_batch = getattr(handler, "bind", None)
    if bind_batch is None:
        return _RowByRow(handler)
    batch: SubjectBatch = bind_batch(deadlines)
    return batch


class UnknownSubjectType(LookupError):
    """No handler is registered for a subject type (its app is not installed or not ready)."""


_handlers: dict[str, SubjectHandler] = {}


def register(subject_type: str, handler: SubjectHandler) -> None:
    """Register ``handler`` for ``subject_type`` ("app_label.model"); a later call replaces it."""
    _handlers[subject_type] = handler


def unregister(subject_type: str) -> None:
    """Forget the handler of ``subject_type`` (tests; an app being unloaded)."""
    _handlers.pop(subject_type, None)


def handler_for(subject_type: str) -> SubjectHandler:
    """The handler registered for ``subject_type``; ``UnknownSubjectType`` when there is none."""
    try:
        return _handlers[subject_type]
    except KeyError:
        raise UnknownSubjectType(subject_type) from None


def recipient_token(recipient: Recipient) -> str:
    """The recipient part of a notification key: the user id, else the role (and the department of
    a webhook), so two department webhooks of one role never share a key."""
    if recipient.user_id is not None:
        return str(recipient.user_id)
    if recipient.webhook_department_id is not None:
        return f"{recipient.role}.dept{recipient.webhook_department_id}"
    return recipient.role
