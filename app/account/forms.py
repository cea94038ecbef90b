"""Forms of the account blueprint."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth.forms import EMAIL, strip
from app.forms import Form
from app.models.user import NAME_MAX
from app.services.accounts import BIO_MAX
from app.services.passwords import MAX_LENGTH, MIN_LENGTH
from app.widgets import BooleanField, EmailField, PasswordField, StringField


class ProfileForm(Form):
    name = StringField("Name", [DataRequired("Enter your name."), Length(max=NAME_MAX)])
    bio = TextAreaField(
        "Bio", [Length(max=BIO_MAX, message=f"Use at most {BIO_MAX} characters.")]
    )
    listed = BooleanField("List me in the member directory")


class EmailChangeForm(Form):
    email = EmailField("New e-mail address", EMAIL, filters=[strip])
    password = PasswordField(
        "Your password",
        [DataRequired("Enter your password."), Length(max=MAX_LENGTH)],
    )


class DeleteAccountForm(Form):
    password = PasswordField(
        "Your password",
        [DataRequired("Enter your password."), Length(max=MAX_LENGTH)],
    )


class PasswordForm(Form):
    current = PasswordField(
        "Current password",
        [DataRequired("Enter your current password."), Length(max=MAX_LENGTH)],
    )
    password = PasswordField(
        "New password",
        [
            DataRequired("Choose a new password."),
            Length(
                MIN_LENGTH, MAX_LENGTH, f"Use {MIN_LENGTH} to {MAX_LENGTH} characters."
            ),
        ],
    )
    confirm = PasswordField(
        "Confirm new password",
        [
            DataRequired("Type the new password again."),
            EqualTo("password", "The passwords do not match."),
        ],
    )
