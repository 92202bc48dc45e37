"""Password rules: length 10, 3 of 4 classes, not common, not like the username; passphrases pass."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

PASSPHRASE = "a quiet river runs past seven old mills before it meets the seas"


def test_the_passphrase_is_really_64_characters():
    assert len(PASSPHRASE) == 64


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("12345678", "password_too_short"),
        ("Password1", "password_too_short"),
        ("Ab1!xyz", "password_too_short"),  # 7 characters
        ("abcdefghijk", "password_too_simple"),  # one class only
        ("abcdefgh1234", "password_too_simple"),  # two classes
        ("Password123", "password_too_common"),
        ("1234567890", "password_entirely_numeric"),
    ],
)
def test_weak_passwords_are_rejected(user, password, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password, user=user)
    assert code in [error.code for error in excinfo.value.error_list]


def test_a_password_like_the_username_is_rejected(db):
    from tests.factories import UserFactory

    person = UserFactory(username="zhangsan2024", full_name="张三")
    with pytest.raises(ValidationError) as excinfo:
        validate_password("Zhangsan2024", user=person)
    assert "password_too_similar" in [error.code for error in excinfo.value.error_list]


def test_rejection_messages_are_chinese(user):
    with pytest.raises(ValidationError) as excinfo:
        validate_password("abcdefghijk", user=user)
    assert any("密码至少要包含" in message for message in excinfo.value.messages)


@pytest.mark.parametrize("password", ["Anlian-2026", "hazard#Check7", PASSPHRASE])
def test_strong_passwords_and_a_64_character_passphrase_are_accepted(user, password):
    validate_password(password, user=user)
