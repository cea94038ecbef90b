"""Forms of the account blueprint."""

from __future__ import annotations

from functools import cache

from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from app.dates import time_zones
from app.models.user import NAME_MAX
from app.services.accounts import BIO_MAX
from app.services.two_factor import CODE_MAX_LENGTH
from app.web.fields import (
    CODE_FIELD_OPTIONS,
    EMAIL,
    SecondFactorForm,
    code_field,
    new_password_length,
    recovery_code_field,
    strip,
    typed_password_length,
)
from app.web.forms import Form
from app.web.widgets import (
    BooleanField,
    CodeField,
    EmailField,
    FixedOptionsSelect,
    HiddenField,
    PasswordField,
    StringField,
)


def current_password_field(id: str | None = None) -> PasswordField:
    """Return the field of a form that re-checks the member's password.

    `id` is its HTML id where the page holds another form with such a field.
    """
    return PasswordField(
        "Your password",
        [DataRequired("Enter your password."), typed_password_length()],
        id=id,
    )


@cache
def zone_options() -> list[tuple[str, str, str]]:
    """Return the zones a member may choose, for the select: value, label, group.

    Grouped by region ("Europe"; names without one, such as "UTC", under "Other",
    last), in name order within each; labelled with spaces for underscores
    ("America/New York").
    """
    options = [
        (name, name.replace("_", " "), name.split("/")[0] if "/" in name else "Other")
        for name in time_zones()
    ]
    return sorted(options, key=lambda option: (option[2] == "Other", option[2]))


class ProfileForm(Form):
    name = StringField("Name", [DataRequired("Enter your name."), Length(max=NAME_MAX)])
    bio = TextAreaField(
        "Bio", [Length(max=BIO_MAX, message=f"Use at most {BIO_MAX} characters.")]
    )
    listed = BooleanField("List me in the member directory")
    # any value may come back: the service refuses a zone that is not in the list
    time_zone = SelectField(
        "Time zone",
        validate_choice=False,
        widget=FixedOptionsSelect(zone_options()),
    )


class EmailChangeForm(Form):
    email = EmailField("New e-mail address", EMAIL, filters=[strip])
    password = current_password_field()


class DeleteAccountForm(SecondFactorForm):
    password = current_password_field()
    # asked for, and checked, only while two-factor sign-in is on
    code = CodeField(
        "Two-factor code",
        [Length(max=CODE_MAX_LENGTH)],
        render_kw=CODE_FIELD_OPTIONS,
    )
    recovery_code = recovery_code_field()


class EnableTwoFactorForm(Form):
    enrolment = HiddenField()
    code = code_field("Code from your app", "Enter the six-digit code from your app.")
    password = current_password_field()


# The two forms share a page: each field keeps its name but has an id of its own.
class DisableTwoFactorForm(SecondFactorForm):
    password = current_password_field(id="off-password")
    code = code_field(
        "Code from your app",
        "Enter the code from your app, or a recovery code.",
        id="off-code",
    )
    recovery_code = recovery_code_field(id="off-recovery-code")


class RecoveryCodesForm(SecondFactorForm):
    password = current_password_field(id="codes-password")
    code = code_field(
        "Code from your app",
        "Enter the code from your app, or a recovery code.",
        id="codes-code",
    )
    recovery_code = recovery_code_field(id="codes-recovery-code")


class PasswordForm(Form):
    current = PasswordField(
        "Current password",
        [DataRequired("Enter your current password."), typed_password_length()],
    )
    password = PasswordField(
        "New password",
        [DataRequired("Choose a new password."), *new_password_length()],
    )
    confirm = PasswordField(
        "Confirm new password",
        [
            DataRequired("Type the new password again."),
            EqualTo("password", "The passwords do not match."),
        ],
    )
