"""Forms of the auth blueprint: shape only, the rules live in the services."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.forms import Form
from app.services.passwords import MAX_LENGTH, MIN_LENGTH

EMAIL = [
    DataRequired("Enter your e-mail address."),
    Length(max=254),
    Email("Enter a valid e-mail address.", check_deliverability=False),
]


def strip(value: str | None) -> str | None:
    """Drop the spaces around a typed address, as the stored form has none."""
    return value.strip() if isinstance(value, str) else value


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """Return a new-password field and its confirmation."""
    return (
        PasswordField(
            "Password",
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
            "Confirm password",
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
    next = HiddenField()


class EmailForm(Form):
    email = EmailField("E-mail", EMAIL, filters=[strip])


class ResetForm(Form):
    password, confirm = new_password_fields()
