"""统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters with a check character."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {char: value for value, char in enumerate(ALPHABET)}


def uscc_check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must use only the code's alphabet)."""
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    """Raise ``ValidationError`` unless ``value`` is a well-formed USCC with the right check character."""
    if len(value) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(n)d."),
            code="uscc_length",
            params={"n": len(value)},
        )
    bad = sorted({char for char in value if char not in _VALUE})
    if bad:
        raise ValidationError(
            _(
                "The unified social credit code contains characters that are not allowed: %(chars)s."
            ),
            code="uscc_alphabet",
            params={"chars": "".join(bad)},
        )
    expected = uscc_check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _(
                "The check character of unified social credit code %(code)s is wrong (expected %(expected)s)."
            ),
            code="uscc_check",
            params={"code": value, "expected": expected},
        )


def normalize_uscc(value: str) -> str:
    """Codes are written in upper case; people type them with spaces and lower case."""
    return "".join(value.split()).upper()
