"""The notification centre: the inbox, opening, marking read, the bell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from workflows.notifications.context_processors import unread_count
from workflows.notifications.models import Notification

pytestmark = pytest.mark.urls("tests.notifications.urls")


def _inbox(user, count, *, start=None, link="/hazards/{n}/"):
    start = start or timezone.now() - timedelta(days=1)
    return [
        Notification.objects.create(
            recipient=user,
            key=f"test:{user.pk}:{n}",
            title=f"通知 {n:02d}",
            body=f"正文 {n}",
            link=link.format(n=n),
            level="warning",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(count)
    ]


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def test_the_inbox_lists_my_notifications_newest_first_twenty_a_page(logged_in, user, other_user):
    _inbox(user, 25)
    _inbox(other_user, 3)

    page1 = logged_in.get(reverse("notifications:index"))
    page2 = logged_in.get(reverse("notifications:index"), {"page": 2})

    assert page1.status_code == 200
    titles = [n.title for n in page1.context["notifications"]]
    assert titles == [f"通知 {n:02d}" for n in range(24, 4, -1)]
    assert [n.title for n in page2.context["notifications"]] == [
        f"通知 {n:02d}" for n in range(4, -1, -1)
    ]
    assert all(n.recipient == user for n in page2.context["notifications"])
    assert page1.context["unread_total"] == 25
    content = page1.content.decode()
    assert reverse("notifications:open", args=[page1.context["notifications"][0].pk]) in content
    assert reverse("notifications:read_all") in content


def test_the_unread_filter_hides_read_ones(logged_in, user):
    first, second = _inbox(user, 2)
    Notification.objects.filter(pk=first.pk).update(read_at=timezone.now())
    response = logged_in.get(reverse("notifications:index"), {"unread": "1"})
    assert [n.pk for n in response.context["notifications"]] == [second.pk]


def test_an_empty_inbox_renders(logged_in):
    response = logged_in.get(reverse("notifications:index"))
    assert response.status_code == 200
    assert list(response.context["notifications"]) == []


def test_the_inbox_is_part_of_the_site_shell(logged_in):
    response = logged_in.get(reverse("notifications:index"))
    assert response.wsgi_request.resolver_match.site is not None
    assert b"vf-page__menu" in response.content


def test_opening_a_notification_marks_it_read_and_goes_to_its_target(logged_in, user):
    [notification] = _inbox(user, 1)
    response = logged_in.get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/hazards/0/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_never_redirects_off_the_site(logged_in, user):
    [notification] = _inbox(user, 1, link="https://evil.example.com/{n}")
    response = logged_in.get(reverse("notifications:open", args=[notification.pk]))
    assert response["Location"] == reverse("notifications:index")


def test_mark_one_read_is_a_post_and_keeps_the_first_read_time(logged_in, user):
    [notification] = _inbox(user, 1)
    url = reverse("notifications:read", args=[notification.pk])
    assert logged_in.get(url).status_code == 405

    response = logged_in.post(url, {"next": reverse("notifications:index") + "?page=1"})
    assert response.status_code == 303
    assert response["Location"] == reverse("notifications:index") + "?page=1"
    notification.refresh_from_db()
    first_read = notification.read_at
    assert first_read is not None
    logged_in.post(url)
    notification.refresh_from_db()
    assert notification.read_at == first_read


def test_mark_all_read_touches_only_my_unread_notifications(logged_in, user, other_user):
    mine = _inbox(user, 3)
    theirs = _inbox(other_user, 2)
    assert logged_in.get(reverse("notifications:read_all")).status_code == 405

    response = logged_in.post(reverse("notifications:read_all"))

    assert response.status_code == 303
    assert not Notification.objects.filter(pk__in=[n.pk for n in mine], read_at=None).exists()
    assert Notification.objects.filter(pk__in=[n.pk for n in theirs], read_at=None).count() == 2


def test_someone_elses_notification_is_a_404(logged_in, other_user):
    [theirs] = _inbox(other_user, 1)
    assert logged_in.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert logged_in.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("notifications:index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_inbox_works_on_a_phone_in_english_too(logged_in, user):
    _inbox(user, 1)
    response = logged_in.get(reverse("notifications:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200


# --- The bell ------------------------------------------------------------------------------------


def _render_bell(user, *, times=1):
    request = RequestFactory().get("/")
    request.user = user
    context = unread_count(request)
    return [
        render_to_string("notifications/bell.html", {**context, "user": user}, request=request)
        for _ in range(times)
    ]


def test_the_bell_shows_the_unread_count_with_one_query(user, django_assert_num_queries):
    _inbox(user, 3)
    Notification.objects.filter(title="通知 00").update(read_at=timezone.now())
    with django_assert_num_queries(1):
        first, second = _render_bell(user, times=2)
    assert first == second
    assert ">2</span>" in first
    assert reverse("notifications:index") in first


def test_the_bell_caps_the_badge_at_99_plus(user):
    _inbox(user, 120)
    [html] = _render_bell(user)
    assert ">99+</span>" in html


def test_the_bell_has_no_badge_when_all_is_read(user, django_assert_num_queries):
    [html] = _render_bell(user)
    assert "sc-bell__badge" not in html
    assert "notifications_none" in html


def test_the_context_processor_runs_no_query_until_the_count_is_used(
    user, django_assert_num_queries
):
    request = RequestFactory().get("/")
    request.user = user
    with django_assert_num_queries(0):
        unread_count(request)


def test_the_bell_is_silent_for_anonymous_visitors(db):
    from django.contrib.auth.models import AnonymousUser

    [html] = _render_bell(AnonymousUser())
    assert html.strip() == ""


def test_the_bell_works_when_installed_as_a_context_processor(settings, user, client):
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {
                **settings.TEMPLATES[0]["OPTIONS"],
                "context_processors": [
                    *settings.TEMPLATES[0]["OPTIONS"]["context_processors"],
                    "workflows.notifications.context_processors.unread_count",
                ],
            },
        }
    ]
    _inbox(user, 4)
    request = RequestFactory().get("/")
    request.user = user
    html = render_to_string("notifications/bell.html", request=request)
    assert ">4</span>" in html


def test_an_unread_other_user_does_not_count(user):
    other = UserFactory()
    _inbox(other, 5)
    [html] = _render_bell(user)
    assert "sc-bell__badge" not in html
