"""Forms for login and account pages."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _
from viewflow.contrib.auth import AuthenticationForm


class LoginForm(AuthenticationForm):
    """viewflow's styled login form with Chinese labels and messages."""

    error_messages: ClassVar[dict[str, Any]] = {
        "invalid_login": _(
            "Please enter a correct username and password. Note that both fields may be case-sensitive."
        ),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget = forms.TextInput(
            attrs={"autofocus": True, "leading-icon": "account_box", "autocomplete": "username"}
        )
        self.fields["password"].widget = forms.PasswordInput(
            attrs={"leading-icon": "lock", "autocomplete": "current-password"}
        )
