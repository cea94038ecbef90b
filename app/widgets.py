"""The site's form fields: WTForms' own, with widgets that write attributes faster.

WTForms writes each attribute of an input with `Markup.format`, which runs Python's
pure-Python string formatter: 1.6 M of the 5.6 M instructions of the sign-in page
(bench/README.md). The widgets below are WTForms' own classes, rendering the same
markup, with only their `html_params` (which WTForms lets a widget replace) swapped
for `html_attributes`, which escapes each value with markupsafe's C code. (WTForms'
textarea calls the module's function instead, so the bio keeps WTForms' own.)
"""

from __future__ import annotations

from typing import Any

import wtforms
from markupsafe import Markup, escape
from wtforms import widgets

QUOTE = Markup("&quot;")  # what WTForms writes for a quote in a Markup value


def html_attributes(**attributes: Any) -> Markup:
    """Return attributes as HTML, as WTForms' `html_params` does: sorted, escaped.

    `True` writes the bare name (`required`), `False` leaves the attribute out, and
    `class_`, `data_*` and `aria_*` names are spelled as in HTML.
    """
    parts = []
    for key, value in sorted(attributes.items()):
        name = key.rstrip("_")  # class_ is class
        if name.startswith(("data_", "aria_")):
            name = name.replace("_", "-")
        if value is True:
            parts.append(name)
        elif value is not False:
            # As WTForms: a Markup value is kept, but its quotes cannot end the value.
            escaped = escape(value).replace('"', QUOTE)
            parts.append(f'{name}="{escaped}"')
    # The names come from the code and every value is escaped above.
    return Markup(" ".join(parts))  # noqa: S704  # nosec B704


class WritesAttributesFast:
    """Put first in a widget's bases: its attributes are written by html_attributes."""

    html_params = staticmethod(html_attributes)


class TextInput(WritesAttributesFast, widgets.TextInput): ...


class EmailInput(WritesAttributesFast, widgets.EmailInput): ...


class PasswordInput(WritesAttributesFast, widgets.PasswordInput): ...


class HiddenInput(WritesAttributesFast, widgets.HiddenInput): ...


class CheckboxInput(WritesAttributesFast, widgets.CheckboxInput): ...


class CodeInput(TextInput):
    """A text input for a one-time code that never writes its value back.

    A refused code is of no use again (the app shows a new one, a recovery code
    was wrong), so the field comes back empty, as a password field does.
    """

    def __call__(self, field: wtforms.Field, **kwargs: Any) -> Markup:
        kwargs["value"] = ""
        return super().__call__(field, **kwargs)


class StringField(wtforms.StringField):
    widget = TextInput()


class CodeField(wtforms.StringField):
    widget = CodeInput()


class EmailField(wtforms.EmailField):
    widget = EmailInput()


class PasswordField(wtforms.PasswordField):
    widget = PasswordInput()


class HiddenField(wtforms.HiddenField):
    widget = HiddenInput()


class BooleanField(wtforms.BooleanField):
    widget = CheckboxInput()
