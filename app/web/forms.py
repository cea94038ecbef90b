"""The base form every form of the site uses, and the CSRF-only button form."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField

from app.web.request_state import request_state

# A label or message: as written, or marked to be translated when shown (`_l`).
Text = str | LazyString

EXPIRED_MESSAGE = _l("This form expired, please submit it again.")
STALE_MESSAGE = _l(
    "You signed in or out in another tab. Check the form and submit it again."
)
HIDDEN_FIELD_MESSAGE = _l(
    "Part of this form could not be read. Please submit it again."
)
BAD_CHARACTERS = _l("This contains characters that are not allowed.")


def _has_control_characters(value: str) -> bool:
    return any(
        (ord(ch) < 32 and ch not in "\t\r\n") or 127 <= ord(ch) <= 159 for ch in value
    )


class Form(FlaskForm):
    """A form that refuses control characters and explains an expired page.

    The CSRF token is checked once per request, for every unsafe request, by
    `security.check_csrf`; a form only reports a genuine token that expired or
    that was made before a sign-in or sign-out (in another tab, say).
    """

    class Meta(FlaskForm.Meta):
        csrf = False
        form: Form | None = None

        def bind_field(self, form: Any, unbound_field: Any, options: Any) -> Any:
            self.form = form  # the meta is the form's own: one per form built
            return super().bind_field(form, unbound_field, options)

        def render_field(self, field: Field, render_kw: dict[str, Any]) -> Any:
            # A refused form focuses its first field in error, whatever field the
            # page focuses when it is fresh: the one to fix, not the one to type.
            in_error = self.form.first_field_in_error() if self.form else None
            if in_error is not None:
                render_kw = {**render_kw, "autofocus": field is in_error}
            return super().render_field(field, render_kw)

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is None or hasattr(formdata, "getlist"):  # given by the caller
                return formdata
            # Only the form body: FlaskForm would also read uploads and JSON bodies,
            # whose values are not text and crash the validators.
            return request.form if form.is_submitted() else None

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and _has_control_characters(field.data):
                field.errors = [*field.errors, BAD_CHARACTERS]
                valid = False
        self._show_hidden_errors()
        if request_state().csrf_expired:
            self.form_errors.append(EXPIRED_MESSAGE)
            valid = False
        if request_state().csrf_stale:
            self.form_errors.append(STALE_MESSAGE)
            valid = False
        return valid

    def field_showing_errors_of(self, field: Field) -> Field:
        """Return the field where the refusals of `field` are shown: itself here."""
        return field

    def first_field_in_error(self) -> Field | None:
        """Return the form's first field, in page order, that has an error, or None."""
        return next((field for field in self if field.errors), None)

    def _show_hidden_errors(self) -> None:
        # A page shows a field's errors next to it, and a hidden field has no
        # place: its refusal would send the form back with no reason given.
        hidden = [field for field in self if isinstance(field, HiddenField)]
        if any(field.errors for field in hidden):
            self.form_errors.append(HIDDEN_FIELD_MESSAGE)
        for field in hidden:
            field.errors = []


def add_error(field: Field, message: str) -> None:
    """Show a rule's refusal next to the field it concerns.

    Its form may name another field as where it shows: a refused second factor
    shows at the field it was typed in (auth.forms.SecondFactorForm).
    """
    form = getattr(field.meta, "form", None)
    if isinstance(form, Form):
        field = form.field_showing_errors_of(field)
    field.errors = [*field.errors, message]


def form_status(form: Form) -> int:
    """Answer 422 when a form comes back with errors, 200 otherwise."""
    return 422 if form.errors else 200


class ConfirmForm(Form):
    """No fields: a POST button protected by CSRF."""
