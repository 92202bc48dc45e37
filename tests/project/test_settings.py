"""Settings read from the environment: production refuses unsafe configuration."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "safechain.linfen.example.cn",
}


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DEBUG="0", ALLOWED_HOSTS="safechain.linfen.example.cn")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_is_off_unless_asked_for():
    env = {k: v for k, v in PRODUCTION.items() if k != "DEBUG"}
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", **env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_production_settings_pass_check_deploy_with_zero_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_collectstatic_succeeds_and_serves_viewflows_fonts(tmp_path):
    """The manifest storage refuses a CSS url() to a missing file: viewflow ships one such CSS
    (node_modules/roboto-fontface, url('./Roboto-*.woff2') beside it, fonts elsewhere); our static/
    overrides it with the right paths, so a deployment's collectstatic does not fail."""
    result = run_manage("collectstatic", "--noinput", STATIC_ROOT=str(tmp_path), **PRODUCTION)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert (
        "viewflow/fonts/roboto/node_modules/roboto-fontface/css/roboto/roboto-fontface" in manifest
    )
    css = next(
        (tmp_path / "viewflow/fonts/roboto/node_modules/roboto-fontface/css/roboto").glob(
            "roboto-fontface.*.css"
        )
    )
    assert "../../fonts/roboto/Roboto-Black." in css.read_text()


def test_development_settings_would_fail_check_deploy():
    # The deploy check is a real gate: the development defaults do not pass it.
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="1")
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr  # DEBUG on


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SESSION_COOKIE_SECURE", "True"),
        ("CSRF_COOKIE_SECURE", "True"),
        ("SECURE_HSTS_SECONDS", "31536000"),
        ("SECURE_SSL_REDIRECT", "True"),
        ("SECURE_CONTENT_TYPE_NOSNIFF", "True"),
        ("X_FRAME_OPTIONS", "DENY"),
        ("SECURE_REFERRER_POLICY", "same-origin"),
    ],
)
def test_production_hardening_is_on(name, expected):
    code = f"from django.conf import settings; print(settings.{name})"
    result = run_manage("shell", "-c", code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_time_zone_and_language_defaults(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert ("en", "English") in settings.LANGUAGES


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL setting (CI runs it)")
def test_postgresql_connections_run_without_jit():
    """JIT compiled the menu counters' plan for 0.5 s at 1,000,000 hazards: it is off per connection."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
