"""Suite-wide fixtures."""

from __future__ import annotations

import pytest

from tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """PBKDF2 at production strength costs ~0.3 s a user; tests create hundreds of users."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(username="wang.wu", full_name="王五")


@pytest.fixture
def other_user(db):
    return UserFactory(username="zhao.liu", full_name="赵六")


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last: a live server swaps the main thread's connection object, and with it the
    serialized copy of the seeded catalogues that ``serialized_rollback`` tests restore from."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
