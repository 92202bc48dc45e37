"""project.sql.insert_rows: many rows in one statement, conflicts skipped, the new rows returned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from project.sql import insert_rows
from tests.factories import UserFactory
from workflows.notifications.models import Notification, Outbox

pytestmark = pytest.mark.django_db


def notification(user, key, **extra):
    row = {
        "recipient_id": user.pk,
        "key": key,
        "title": "标题",
        "body": '正文 ‘quoted’ "double" \\ backslash',
        "link": "/hazards/1/",
        "subject_type": "hazards.hazard",
        "subject_id": 1,
        "level": "warning",
        "created_at": timezone.now() - timedelta(days=1),
    }
    row.update(extra)
    return row


def test_rows_go_in_with_their_values_and_come_back_with_their_ids():
    user = UserFactory()
    rows = [notification(user, f"k{n}") for n in range(3)]
    inserted = insert_rows(Notification, rows, returning=("id", "key"))
    assert sorted(key for _id, key in inserted) == ["k0", "k1", "k2"]
    stored = Notification.objects.get(key="k1")
    assert stored.pk == {key: pk for pk, key in inserted}["k1"]
    assert (stored.title, stored.body, stored.level) == ("标题", rows[1]["body"], "warning")
    assert stored.created_at == rows[1]["created_at"]


def test_conflicting_rows_are_skipped_and_not_returned():
    user = UserFactory()
    insert_rows(Notification, [notification(user, "old", title="first")])
    inserted = insert_rows(
        Notification,
        [notification(user, "old", title="second"), notification(user, "new")],
        returning=("key",),
        skip_conflicts=True,
    )
    assert inserted == [("new",)]
    assert Notification.objects.get(key="old").title == "first"


def test_a_compound_unique_key_is_honoured_and_nullable_columns_stay_null():
    now = timezone.now()
    base = {
        "key": "k",
        "recipient_id": None,
        "email": "a@example.cn",
        "mobile": "",
        "webhook_department_id": None,
        "title": "t",
        "body": "",
        "link": "",
        "subject_type": "",
        "subject_id": None,
        "digest_group": "",
        "status": "pending",
        "attempts": 0,
        "last_error": "",
        "next_attempt_at": now,
        "created_at": now,
    }
    first = insert_rows(Outbox, [{**base, "channel": "email"}], skip_conflicts=True)
    again = insert_rows(
        Outbox,
        [{**base, "channel": "email"}, {**base, "channel": "sms"}],
        returning=("id", "channel"),
        skip_conflicts=True,
    )
    assert len(first) == 1
    assert [channel for _id, channel in again] == ["sms"]
    row = Outbox.objects.get(channel="sms")
    assert (row.recipient_id, row.claimed_until, row.merged_into_id) == (None, None, None)


def test_nothing_to_insert_costs_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(Notification, []) == []
    assert len(queries) == 0


def test_postgresql_inserts_a_batch_in_one_statement():
    user = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        insert_rows(
            Notification,
            [notification(user, f"b{n}") for n in range(200)],
            skip_conflicts=True,
        )
    assert Notification.objects.count() == 200
    if connection.vendor == "postgresql":  # elsewhere: keys, inserts per batch, ids
        assert len(queries) == 1
