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


def outbox(key, **extra):
    now = timezone.now()
    row = {
        "key": key,
        "recipient_id": None,
        "email": "",
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
    base = outbox("k", email="a@example.cn")
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


def test_postgresql_moves_a_batch_with_one_insert_whatever_its_size():
    user = UserFactory()
    statements = []
    for size, prefix in ((10, "a"), (200, "b")):
        with CaptureQueriesContext(connection) as queries:
            insert_rows(
                Notification,
                [notification(user, f"{prefix}{n}") for n in range(size)],
                skip_conflicts=True,
            )
        statements.append([q["sql"] for q in queries.captured_queries])
    assert Notification.objects.count() == 210
    if connection.vendor == "postgresql":  # elsewhere: keys, inserts per batch, ids
        assert len(statements[0]) == len(statements[1])
        inserts = [sql for sql in statements[1] if sql.startswith("INSERT")]
        assert len(inserts) == 1, statements[1]


def test_json_columns_and_choice_values_go_in_as_they_are():
    from viewflow.workflow.models import Process

    data = {"triage": "confirmed", "roles": ["assignee", "城市安委办"], "nested": {"ok": True}}
    rows = [
        {
            "flow_class": "hazards/flows.HazardFlow",
            "status": "NEW",
            "created": timezone.now(),
            "finished": None,
            "data": data,
        }
    ]
    inserted = insert_rows(Process, rows)
    assert Process.objects.filter(pk=inserted[0][0]).values_list("data", flat=True).get() == data
    insert_rows(Outbox, [outbox("choice", channel="sms", status=Outbox.Status.PENDING)])
    assert Outbox.objects.get(key="choice").status == "pending"


def test_rows_may_list_their_columns_in_any_order():
    user = UserFactory()
    first = notification(user, "x1")
    second = dict(reversed(list(notification(user, "x2", title="乙").items())))
    insert_rows(Notification, [first, second])
    assert Notification.objects.get(key="x2").title == "乙"
    assert Notification.objects.get(key="x2").recipient_id == user.pk


def test_a_failed_insert_leaves_nothing_behind_and_the_next_one_works():
    from django.db import IntegrityError, transaction

    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Notification, [notification(user, "dup"), notification(user, "dup")])
    assert not Notification.objects.filter(key="dup").exists()
    assert len(insert_rows(Notification, [notification(user, "dup")])) == 1
