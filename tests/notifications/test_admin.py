"""Admin: the outbox with its retry action, the read-only inbox, webhook endpoints for superusers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.factories import UserFactory
from workflows.notifications.models import Notification, Outbox, WebhookEndpoint
from workflows.notifications.services import notify


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _outbox(user, key, status, **extra):
    notify(key=key, user_id=user.pk, channels=["email"], title="t", body="b")
    row = Outbox.objects.get(key=key)
    Outbox.objects.filter(pk=row.pk).update(status=status, **extra)
    return row


def test_the_outbox_list_filters_by_status(admin_client, recipient):
    _outbox(recipient, "a:1", "failed", attempts=5, last_error="HTTP 503 from http://x")
    _outbox(recipient, "b:1", "pending")
    url = reverse("admin:notifications_outbox_changelist")

    response = admin_client.get(url, {"status__exact": "failed"})

    assert response.status_code == 200
    assert [row.key for row in response.context["cl"].result_list] == ["a:1"]
    assert "HTTP 503" in response.content.decode()


def test_the_retry_action_makes_failed_rows_pending_again(
    admin_client, recipient, enqueued, django_capture_on_commit_callbacks
):
    failed = _outbox(recipient, "a:1", "failed", attempts=5, last_error="HTTP 503")
    pending = _outbox(recipient, "b:1", "pending")
    enqueued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:notifications_outbox_changelist"),
            {"action": "retry", "_selected_action": [failed.pk, pending.pk]},
            follow=True,
        )

    assert response.status_code == 200
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 0, "HTTP 503")
    assert enqueued == [failed.pk]
    assert len(list(response.context["messages"])) == 1


def test_outbox_rows_cannot_be_added_edited_or_deleted(admin_client, recipient):
    row = _outbox(recipient, "a:1", "failed")
    assert admin_client.get(reverse("admin:notifications_outbox_add")).status_code == 403
    change = admin_client.get(reverse("admin:notifications_outbox_change", args=[row.pk]))
    assert change.status_code == 200
    assert set(change.context["adminform"].form.fields) == set()
    delete = reverse("admin:notifications_outbox_delete", args=[row.pk])
    assert admin_client.get(delete).status_code == 403


def test_notifications_are_read_only_in_the_admin(admin_client, recipient):
    notify(key="n:1", user_id=recipient.pk, channels=[], title="t", body="b")
    notification = Notification.objects.get()
    url = reverse("admin:notifications_notification_change", args=[notification.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"title": "edited"})
    notification.refresh_from_db()
    assert notification.title == "t"
    changelist = admin_client.get(reverse("admin:notifications_notification_changelist"))
    assert changelist.status_code == 200


def test_superusers_manage_webhook_endpoints(admin_client, department):
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {
            "department": department.pk,
            "url": "https://dept.example.cn/safechain",
            "secret": "a-long-shared-secret",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.department, endpoint.active) == (department, True)


def test_only_http_urls_are_accepted_for_endpoints(admin_client, department):
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"department": department.pk, "url": "ftp://dept.example.cn/x", "secret": "s"},
    )
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors


def test_staff_with_every_permission_still_cannot_see_webhook_secrets(client, department):
    staff = UserFactory(username="staffer", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="notifications"))
    client.force_login(staff)
    WebhookEndpoint.objects.create(department=department, url="https://x.example.cn/")
    assert client.get(reverse("admin:notifications_webhookendpoint_changelist")).status_code == 403
    assert client.get(reverse("admin:notifications_outbox_changelist")).status_code == 200


def test_a_new_endpoint_gets_a_random_secret(department):
    first = WebhookEndpoint.objects.create(department=department, url="https://x.example.cn/")
    assert len(first.secret) >= 40
