"""Forms of the account blueprint."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import Field, SelectField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.dates import time_zones
from app.models.passkey import PASSKEY_NAME_MAX
from app.models.user import NAME_MAX
from app.services.accounts import BIO_MAX
from app.services.two_factor import CODE_MAX_LENGTH
from app.web.fields import (
    CODE_FIELD_OPTIONS,
    EMAIL,
    SecondFactorForm,
    code_field,
    new_password_length,
    passkey_answer_field,
    recovery_code_field,
    strip,
    typed_password_length,
)
from app.web.forms import Form
from app.web.language import language_name, offered_languages, page_language
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
        _l("Your password"),
        [DataRequired(_l("Enter your password.")), typed_password_length()],
        id=id,
    )


# The group of the zones named without a region ("UTC"), in English.
OTHER_ZONES = "Other"


@cache
def zone_options() -> list[tuple[str, str, str]]:
    """Return the zones a member may choose, for the select: value, label, group.

    Grouped by region ("Europe"; names without one, such as "UTC", under
    OTHER_ZONES, last), in name order within each; labelled with spaces for
    underscores ("America/New York"). The zones and regions are the time zone
    database's own names, in every language.
    """
    options = [
        (
            name,
            name.replace("_", " "),
            name.split("/")[0] if "/" in name else OTHER_ZONES,
        )
        for name in time_zones()
    ]
    return sorted(options, key=lambda option: (option[2] == OTHER_ZONES, option[2]))


@cache
def _zone_select(language: str) -> FixedOptionsSelect:
    # Called while `language` is the page's: its "Other" is in that language.
    other = _("Other")
    return FixedOptionsSelect(
        (value, label, other if group == OTHER_ZONES else group)
        for value, label, group in zone_options()
    )


class ZoneSelect:
    """The time zone select, written once for each language (its group "Other").

    Its options are the time zone database's own names ("Europe/Berlin"), the same in
    every language: `translate="no"` says so to the browser's translation too.
    """

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        kwargs.setdefault("translate", "no")
        return _zone_select(page_language())(field, **kwargs)


def language_options() -> list[tuple[str, str, dict[str, str]]]:
    """Return the languages a member may choose, for the select: (code, label, attrs).

    Each is labelled by its name in itself ("Deutsch"), marked as written in it.
    """
    return [(code, language_name(code), {"lang": code}) for code in offered_languages()]


def offered_language(form: Any, field: Field) -> None:
    """Refuse a language the site does not serve; a post that sends none chose none."""
    if field.raw_data and field.data not in offered_languages():
        raise ValidationError(_("Choose your language from the list."))


class ProfileForm(Form):
    name = StringField(
        _l("Name"), [DataRequired(_l("Enter your name.")), Length(max=NAME_MAX)]
    )
    bio = TextAreaField(
        _l("Bio"),
        # Length fills in %(max)d
        [Length(max=BIO_MAX, message=_l("Use at most %(max)d characters."))],
    )
    listed = BooleanField(_l("List me in the member directory"))
    # any value may come back: the service refuses a zone that is not in the list
    time_zone = SelectField(_l("Time zone"), validate_choice=False, widget=ZoneSelect())
    # the choices are the site's languages, set for each form (the app's setting)
    language = SelectField(_l("Language"), [offered_language], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = language_options()

    def chosen_language(self) -> str | None:
        """Return the language code posted, or None when the post had none (keep it)."""
        return str(self.language.data) if self.language.raw_data else None


class EmailChangeForm(Form):
    email = EmailField(_l("New e-mail address"), EMAIL, filters=[strip])
    password = current_password_field()


class DeleteAccountForm(SecondFactorForm):
    password = current_password_field()
    # asked for, and checked, only while two-factor sign-in is on
    code = CodeField(
        _l("Two-factor code"),
        [Length(max=CODE_MAX_LENGTH)],
        render_kw=CODE_FIELD_OPTIONS,
    )
    recovery_code = recovery_code_field()


class EnableTwoFactorForm(Form):
    enrolment = HiddenField()
    code = code_field(
        _l("Code from your app"), _l("Enter the six-digit code from your app.")
    )
    password = current_password_field()


# The two forms share a page: each field keeps its name but has an id of its own.
class DisableTwoFactorForm(SecondFactorForm):
    password = current_password_field(id="off-password")
    code = code_field(
        _l("Code from your app"),
        _l("Enter the code from your app, or a recovery code."),
        id="off-code",
    )
    recovery_code = recovery_code_field(id="off-recovery-code")


class RecoveryCodesForm(SecondFactorForm):
    password = current_password_field(id="codes-password")
    code = code_field(
        _l("Code from your app"),
        _l("Enter the code from your app, or a recovery code."),
        id="codes-code",
    )
    recovery_code = recovery_code_field(id="codes-recovery-code")


class PasswordForm(Form):
    current = PasswordField(
        _l("Current password"),
        [DataRequired(_l("Enter your current password.")), typed_password_length()],
    )
    password = PasswordField(
        _l("New password"),
        [DataRequired(_l("Choose a new password.")), *new_password_length()],
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        [
            DataRequired(_l("Type the new password again.")),
            EqualTo("password", _l("The passwords do not match.")),
        ],
    )


class AddPasskeyForm(SecondFactorForm):
    """Adding a passkey: its name, who asks (unless the window is open), the answer."""

    name = StringField(
        _l("Name of the passkey"),
        [DataRequired(_l("Give the passkey a name.")), Length(max=PASSKEY_NAME_MAX)],
        filters=[strip],
    )
    password = current_password_field(id="passkey-password")
    # asked for, and checked, only while two-factor sign-in is on
    code = CodeField(
        _l("Two-factor code"),
        [Length(max=CODE_MAX_LENGTH)],
        render_kw=CODE_FIELD_OPTIONS,
        id="passkey-code",
    )
    recovery_code = recovery_code_field(id="passkey-recovery-code")
    # navigator.credentials.create()'s answer as JSON, filled by passkeys.js
    credential = passkey_answer_field()


class RenamePasskeyForm(Form):
    name = StringField(
        _l("New name"),
        [DataRequired(_l("Give the passkey a name.")), Length(max=PASSKEY_NAME_MAX)],
        filters=[strip],
    )
