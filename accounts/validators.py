"""Password rules beyond Django's built-in validators."""

from __future__ import annotations

import string
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_CLASSES = (
    ("lower", lambda c: c in string.ascii_lowercase),
    ("upper", lambda c: c in string.ascii_uppercase),
    ("digit", lambda c: c.isdigit()),
    ("symbol", lambda c: not c.isalnum()),
)


class CharacterClassValidator:
    """Require ``min_classes`` of the four classes (lower, upper, digit, symbol).

    Passphrases of ``passphrase_length`` characters or more are exempt: length beats composition
    (NIST SP 800-63B), and a long sentence of plain words must be accepted.
    """

    def __init__(self, min_classes: int = 3, passphrase_length: int = 20) -> None:
        self.min_classes = min_classes
        self.passphrase_length = passphrase_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) >= self.passphrase_length:
            return
        present = sum(1 for _name, test in _CLASSES if any(test(c) for c in password))
        if present < self.min_classes:
            raise ValidationError(
                _(
                    "The password must contain characters of at least %(min)d of these four "
                    "kinds: lowercase letters, uppercase letters, digits, symbols (passphrases of "
                    "%(long)d characters or more are exempt)."
                ),
                code="password_too_simple",
                params={"min": self.min_classes, "long": self.passphrase_length},
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must mix at least %(min)d of: lowercase letters, uppercase letters, "
            "digits, symbols — or be a passphrase of %(long)d characters or more."
        ) % {"min": self.min_classes, "long": self.passphrase_length}
