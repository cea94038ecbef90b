"""Forms of the auth blueprint: shape only, the rules live in the services."""

from __future__ import annotations

import unicodedata
from typing import Any

from wtforms import Field
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.dates import known_time_zone
from app.forms import Form
from app.security import safe_next
from app.services.email_address import EMAIL_MAX, is_email_address
from app.services.passwords import MAX_LENGTH, MIN_LENGTH
from app.services.two_factor import CODE_MAX_LENGTH
from app.widgets import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
)


def email_address(form: Any, field: Field) -> None:
    """Refuse what is not an e-mail address, by the rule the CLI also uses."""
    if not is_email_address(field.data or ""):
        raise ValidationError("Enter a valid e-mail address.")


EMAIL = [
    DataRequired("Enter your e-mail address."),
    Length(max=EMAIL_MAX),
    email_address,
]


def strip(value: str | None) -> str | None:
    """Tidy a typed address as its stored form is: no spaces around, NFKC letters.

    So that a fullwidth at sign or letter is checked as the address it spells.
    """
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", value).strip()


def path_on_this_site(value: str | None) -> str:
    """Keep a `next` only when it is a path on this site, else drop it.

    The field is hidden: a refusal there would fail the sign-in with no reason
    shown, so a bad value is dropped instead, as the redirect would drop it.
    """
    return safe_next(value, "") if isinstance(value, str) else ""


def new_password_fields(
    label: str = "Password",
) -> tuple[PasswordField, PasswordField]:
    """Return a new-password field labelled `label`, and its confirmation."""
    return (
        PasswordField(
            label,
            [
                DataRequired("Choose a password."),
                Length(
                    MIN_LENGTH,
                    MAX_LENGTH,
                    f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.",
                ),
            ],
        ),
        PasswordField(
            f"Confirm {label.lower()}",
            [
                DataRequired("Type the password again."),
                EqualTo("password", "The passwords do not match."),
            ],
        ),
    )


class RegisterForm(Form):
    name = StringField("Name", [DataRequired("Enter your name."), Length(max=80)])
    email = EmailField("E-mail", EMAIL, filters=[strip])
    password, confirm = new_password_fields()


class LoginForm(Form):
    email = EmailField("E-mail", EMAIL, filters=[strip])
    password = PasswordField(
        "Password", [DataRequired("Enter your password."), Length(max=MAX_LENGTH)]
    )
    remember = BooleanField("Remember me for 30 days")
    next = HiddenField(filters=[path_on_this_site])
    # the browser's IANA zone, filled by time-zone.js; anything else is dropped
    time_zone = HiddenField(filters=[known_time_zone])


class EmailForm(Form):
    email = EmailField("E-mail", EMAIL, filters=[strip])


class ResetForm(Form):
    password, confirm = new_password_fields("New password")


class ConfirmSignUpForm(Form):
    """The verify link's button; a browser that did not sign up types the password."""

    password = PasswordField(
        "The password you chose when you signed up", [Length(max=MAX_LENGTH)]
    )


# What a second-step field takes: the app's six digits or a recovery code.
CODE_FIELD_OPTIONS: dict[str, str] = {
    "autocapitalize": "off",
    "spellcheck": "false",
}


def code_field(label: str, message: str, id: str | None = None) -> StringField:
    """Return a field for a two-factor code (the app's, or a recovery code)."""
    return StringField(
        label,
        [DataRequired(message), Length(max=CODE_MAX_LENGTH)],
        render_kw=CODE_FIELD_OPTIONS,
        id=id,
    )


class TwoFactorForm(Form):
    code = code_field("Code", "Enter the code from your app, or a recovery code.")
    trust = BooleanField("Trust this browser for 30 days")
