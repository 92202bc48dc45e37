"""Chinese first, English selectable; viewflow's own strings are translated by our catalog."""

from __future__ import annotations

from django.utils import translation


def test_the_login_page_is_chinese_by_default(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "用户名" in html
    assert "密码" in html
    assert "Log in" not in html


def test_english_is_selectable(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in html
    assert "Username" in html


def test_the_workbench_is_chinese(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "工作台" in html
    assert "您好，王五" in html


def test_viewflow_strings_are_translated_to_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Inbox") != "Inbox"
        assert translation.gettext("Queue") != "Queue"
        assert translation.gettext("Log out") == "退出登录"
