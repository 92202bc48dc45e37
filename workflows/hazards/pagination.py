"""Keyset pagination of the hazard ledger on (-found_at, -id), with opaque signed cursors.

A page costs one index range scan of ``per_page + 1`` rows however large the table grows: no
``COUNT(*)`` and no ``OFFSET``. A cursor names the boundary row of the page it came from and the
direction to go; it is signed, so a tampered or truncated cursor is refused (``InvalidCursor``) and
the caller falls back to the first page instead of running a query on attacker-chosen values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core import signing
from django.core.paginator import Page, Paginator
from django.db.models import Model, Q, QuerySet

SALT = "hazards.pagination.cursor"
M = TypeVar("M", bound=Model)


class InvalidCursor(ValueError):
    """The cursor was not made by ``encode_cursor`` (tampered, truncated or from another salt)."""


@dataclass(frozen=True)
class Cursor:
    """A boundary row (its ``found_at`` and ``id``) and whether to go towards newer rows."""

    found_at: datetime
    pk: int
    backwards: bool = False


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """One page of rows, newest first, with the cursors of its neighbours (None at either end)."""

    rows: list[M]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, URL-safe, signed token for ``cursor``."""
    payload = {"f": cursor.found_at.isoformat(), "i": cursor.pk, "b": int(cursor.backwards)}
    return signing.dumps(payload, salt=SALT, compress=True)


def decode_cursor(token: str) -> Cursor:
    """The cursor inside ``token``; raises ``InvalidCursor`` for anything not made by us."""
    try:
        payload: Any = signing.loads(token, salt=SALT)
        found_at = datetime.fromisoformat(payload["f"])
        pk = int(payload["i"])
        backwards = bool(payload["b"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidCursor(str(exc)) from exc
    if found_at.tzinfo is None:
        raise InvalidCursor("naive datetime")
    return Cursor(found_at=found_at, pk=pk, backwards=backwards)


def keyset_page(
    queryset: QuerySet[M], *, cursor: Cursor | None, per_page: int = 20
) -> KeysetPage[M]:
    """The page of ``queryset`` after (or, going backwards, before) ``cursor``, newest first.

    One query of ``per_page + 1`` rows: the extra row only tells whether there is a further page in
    the direction of travel. Coming from a cursor means there is a page on the other side.
    """
    if cursor is None:
        rows = list(queryset.order_by("-found_at", "-id")[: per_page + 1])
        more = len(rows) > per_page
        rows = rows[:per_page]
        return KeysetPage(
            rows=rows,
            next_cursor=_edge(rows[-1], backwards=False) if more else None,
            previous_cursor=None,
        )
    if cursor.backwards:
        newer = Q(found_at__gt=cursor.found_at) | Q(found_at=cursor.found_at, id__gt=cursor.pk)
        rows = list(queryset.filter(newer).order_by("found_at", "id")[: per_page + 1])
        more = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        return KeysetPage(
            rows=rows,
            next_cursor=_edge(rows[-1], backwards=False) if rows else None,
            previous_cursor=_edge(rows[0], backwards=True) if more else None,
        )
    older = Q(found_at__lt=cursor.found_at) | Q(found_at=cursor.found_at, id__lt=cursor.pk)
    rows = list(queryset.filter(older).order_by("-found_at", "-id")[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    return KeysetPage(
        rows=rows,
        next_cursor=_edge(rows[-1], backwards=False) if more else None,
        previous_cursor=_edge(rows[0], backwards=True) if rows else None,
    )


def _edge(row: Any, *, backwards: bool) -> str:
    return encode_cursor(Cursor(found_at=row.found_at, pk=row.pk, backwards=backwards))


class DeferredJoinPaginator(Paginator):
    """Numbered pages of a joined, annotated queryset in two steps: the page's ids from the
    filtered, ordered rows without the joins, then just those rows with their relations and
    annotations. A queue of 600 tasks no longer joins 600 processes, hazards and enterprises
    (and computes 600 clocks) to show 25 of them."""

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        ids = list(queryset.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
        return Page([rows[pk] for pk in ids if pk in rows], number, self)
