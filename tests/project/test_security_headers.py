"""Headers every response carries: CSP with frame-ancestors none, nosniff, referrer policy."""

from __future__ import annotations


def test_login_page_sends_the_security_headers(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_every_page_needs_a_login_by_default(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_admin_needs_a_login(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
