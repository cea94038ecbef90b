"""Fields and checks the blueprints' forms share: the e-mail address, password
lengths, the codes of a second factor, the form that takes one of them, and a
passkey's answer."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.services.email_address import EMAIL_MAX, is_email_address
from app.services.passwords import (
    LONGER_THAN_ANY,
    MAX_LENGTH,
    MIN_LENGTH,
    TOO_LONG,
    TOO_SHORT,
)
from app.services.two_factor import CODE_MAX_LENGTH
from app.web.forms import Form, Text
from app.web.security import safe_next
from app.web.widgets import CodeField, HiddenField, PasswordField

# A passkey's answer as JSON (navigator.credentials' answer, filled by passkeys.js):
# a few kilobytes at most; what is longer is not one and is cut, then refused.
PASSKEY_ANSWER_MAX = 16_384


def passkey_answer_field() -> HiddenField:
    """Return the hidden field a passkey form's answer is posted in."""
    return HiddenField(filters=[_passkey_answer])


def _passkey_answer(value: str | None) -> str:
    return (value or "")[:PASSKEY_ANSWER_MAX]


def email_address(form: Any, field: Field) -> None:
    """Refuse what is not an e-mail address, by the rule the CLI also uses."""
    if not is_email_address(field.data or ""):
        raise ValidationError(_("Enter a valid e-mail address."))


def at_most(length: int) -> Length:
    """Return the check that a field holds at most `length` characters.

    With the site's own message, translated by the site's catalogs, in the words of
    WTForms' own: "Field cannot be longer than 80 characters."
    """
    return Length(
        max=length, message=_l("Field cannot be longer than %(max)d characters.")
    )


EMAIL = [
    DataRequired(_l("Enter your e-mail address.")),
    at_most(EMAIL_MAX),
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


def new_password_length() -> list[Length]:
    """Return the checks of a new password's length, each with its own message."""
    return [
        Length(min=MIN_LENGTH, message=TOO_SHORT),
        Length(max=MAX_LENGTH, message=TOO_LONG),
    ]


def typed_password_length() -> Length:
    """Return the check of a typed (current) password's length."""
    return Length(max=MAX_LENGTH, message=LONGER_THAN_ANY)


PASSWORD_LABEL = _l("Password")
CONFIRM_PASSWORD_LABEL = _l("Confirm password")


def new_password_fields(
    label: Text = PASSWORD_LABEL, confirm_label: Text = CONFIRM_PASSWORD_LABEL
) -> tuple[PasswordField, PasswordField]:
    """Return a new-password field labelled `label`, and its confirmation's.

    The first one's description is the hint its page shows: "At least 10 characters."
    """
    return (
        PasswordField(
            label,
            [DataRequired(_l("Choose a password.")), *new_password_length()],
            description=_l("At least %(num)d characters.", num=MIN_LENGTH),
        ),
        PasswordField(
            confirm_label,
            [
                DataRequired(_l("Type the password again.")),
                EqualTo("password", _l("The passwords do not match.")),
            ],
        ),
    )


# The app's six digits: a phone opens its number pad, and offers a code it received.
CODE_FIELD_OPTIONS: dict[str, str] = {
    "inputmode": "numeric",
    "autocomplete": "one-time-code",
    "autocapitalize": "off",
    "spellcheck": "false",
}
# A recovery code is letters and digits, typed or pasted from where it was kept.
RECOVERY_CODE_OPTIONS: dict[str, str] = {
    "autocomplete": "off",
    "autocapitalize": "off",
    "spellcheck": "false",
}


def code_field(label: Text, message: Text, id: str | None = None) -> CodeField:
    """Return a field for the six-digit code of the member's authenticator app."""
    return CodeField(
        label,
        [DataRequired(message), at_most(CODE_MAX_LENGTH)],
        render_kw=CODE_FIELD_OPTIONS,
        id=id,
    )


def recovery_code_field(id: str | None = None) -> CodeField:
    """Return the field where a recovery code is typed instead of the app's code."""
    return CodeField(
        _l("Recovery code"),
        [at_most(CODE_MAX_LENGTH)],
        render_kw=RECOVERY_CODE_OPTIONS,
        id=id,
    )


class SecondFactorForm(Form):
    """A form that takes the app's code, or a recovery code in a field of its own.

    The six-digit field opens a phone's number pad, on which a recovery code's
    letters cannot be typed. `code.data` holds whichever was typed (the app's
    code when both were), so the services and routes read one field.
    """

    code: CodeField
    recovery_code: CodeField
    typed_recovery_code = False

    def validate(self, extra_validators: Any = None) -> bool:
        # Within the reauthentication window the account forms have neither field.
        asked = "code" in self and "recovery_code" in self
        if asked and not (self.code.data or "").strip() and self.recovery_code.data:
            self.code.data = self.recovery_code.data
            self.typed_recovery_code = True
        return super().validate(extra_validators)

    def field_showing_errors_of(self, field: Field) -> Field:
        """Show a refused code at the field it was typed in, which the page focuses."""
        if field is self.code and self.typed_recovery_code:
            return self.recovery_code
        return field
