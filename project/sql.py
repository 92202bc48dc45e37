"""Set-based writes the ORM does slowly: many rows in one statement.

The deadline sweep writes thousands of notifications, outbox rows and audit events per batch;
``bulk_create`` builds a model instance per row and, with ``ignore_conflicts``, cannot say which
rows went in. On PostgreSQL ``insert_rows`` sends the rows as one JSON document
(``jsonb_to_recordset``: serialised in C, parsed by the server, far cheaper than one typed array per
column) and gets the inserted rows back. Other databases (the embedded SQLite demo) take the ORM
path with the same result.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models


class _Encoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes keep their microseconds (it writes ECMA-262 milliseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str] = ("id",),
    skip_conflicts: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts of field attnames → values, all with the same keys) and return the
    ``returning`` columns of the rows inserted. With ``skip_conflicts`` a row that would break a
    unique constraint is left out (``ON CONFLICT DO NOTHING``) and not returned. ``returning`` may
    name ``id`` and columns given in the rows. Model defaults and ``save()`` are not applied: give
    every non-null column. Values must be what ``DjangoJSONEncoder`` writes and the column's type
    reads back (str, numbers, None, aware datetimes, dicts and lists for JSON columns)."""
    if not rows:
        return []
    columns = list(rows[0])
    fields = [model._meta.get_field(name) for name in columns]
    if connection.vendor != "postgresql":
        return _insert_with_orm(model, rows, returning=returning, skip_conflicts=skip_conflicts)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(c) for c in columns)
    record = ", ".join(
        f"{quote(c)} {f.db_type(connection)}" for c, f in zip(columns, fields, strict=True)
    )
    conflict = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    back = ", ".join(quote(c) for c in returning)
    # Identifiers come from the model's metadata and are quoted; the values are one parameter.
    head = f"INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_to_recordset(%s::jsonb)"  # noqa: S608
    sql = f"{head} AS x({record}){conflict} RETURNING {back}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, cls=_Encoder)])
        return [tuple(row) for row in cursor.fetchall()]


def _insert_with_orm(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[str],
    skip_conflicts: bool,
) -> list[tuple[Any, ...]]:
    """The portable path: instances through ``bulk_create``; with ``skip_conflicts`` the rows
    whose unique values exist are dropped first, and the ids are read back by those values."""
    if not skip_conflicts:
        created = model._default_manager.bulk_create([model(**row) for row in rows])
        return [tuple(getattr(obj, name) for name in returning) for obj in created]
    unique = _unique_columns(model, rows[0])
    first = unique[0]
    wanted = {tuple(row[name] for name in unique): row for row in rows}
    present = set(
        model._default_manager.filter(**{f"{first}__in": {key[0] for key in wanted}}).values_list(
            *unique
        )
    )
    new = {key: row for key, row in wanted.items() if key not in present}
    model._default_manager.bulk_create(
        [model(**row) for row in new.values()], ignore_conflicts=True
    )
    found = model._default_manager.filter(**{f"{first}__in": {key[0] for key in new}}).values_list(
        *unique, *returning
    )
    width = len(unique)
    return [tuple(row[width:]) for row in found if tuple(row[:width]) in new]


def _unique_columns(model: type[models.Model], row: Mapping[str, Any]) -> tuple[str, ...]:
    """The first unique field or unconditional unique constraint whose columns the rows carry."""
    attnames = {field.name: field.attname for field in model._meta.local_fields}
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key and field.attname in row:
            return (field.attname,)
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
            names = tuple(attnames[name] for name in constraint.fields)
            if all(name in row for name in names):
                return names
    raise ValueError(f"{model.__name__} has no unique key among {sorted(row)}")
