"""A person logs in with a phone-sized chromium, sees the Chinese UI, switches language, logs out."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_login_see_chinese_ui_and_log_out(page, live_server, user, password, artifacts):
    page.goto(f"{live_server.url}/")
    # Private by default: the anonymous visitor lands on the Chinese login page.
    assert "/accounts/login/" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    expect(page.get_by_text("安全生产隐患闭环治理 · 请登录")).to_be_visible()

    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="您好，王五")).to_be_visible()
    page.screenshot(path=artifacts / "login-workbench-phone.png", full_page=True)

    # English is one click away, and back.
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    page.locator("button.vf-page__menu-toggle").click()
    expect(page.get_by_role("link", name="工作台")).to_be_visible()
    page.locator(".vf-page__menu-toggle-button").click()  # the user's own actions
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/accounts/login/")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
