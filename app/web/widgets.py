"""The site's form fields: WTForms' own, with widgets that write attributes faster.

WTForms writes each attribute of an input with `Markup.format`, which runs Python's
pure-Python string formatter. Kept, measured again: without these widgets the
sign-in page counts 6.92 M instructions instead of 5.30 M, 23 % (bench/README.md).
The widgets below are WTForms' own classes, rendering the same
markup, with only their `html_params` (which WTForms lets a widget replace) swapped
for `html_attributes`, which escapes each value with markupsafe's C code. (WTForms'
textarea calls the module's function instead, so the bio keeps WTForms' own.)
"""

from __future__ import annotations

from collections.abc import Iterable
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


class FixedOptionsSelect:
    """A select of many options that never change (the time zones), written fast.

    WTForms' Select writes each option through `html_params` on every render: 24 ms
    a page for 600 zones. Kept, measured again: the account profile page counts
    8.3 M instructions with it, 92.6 M with WTForms' grouped select (bench/README.md).
    This widget is given its options, as (value, label,
    group or None) in order, writes them once in WTForms' markup (`<optgroup>`
    around each run of one group) and on each render only marks the field's value
    as chosen. Its field's own `choices` are not read.
    """

    def __init__(self, options: Iterable[tuple[str, str, str | None]]) -> None:
        self.parts: list[str] = []
        # each value's position in `parts`, and its option written as chosen
        self.chosen: dict[str, tuple[int, str]] = {}
        group = None
        for value, label, option_group in options:
            if option_group != group:
                if group is not None:
                    self.parts.append("</optgroup>")
                if option_group is not None:
                    self.parts.append(
                        f"<optgroup {html_attributes(label=option_group)}>"
                    )
                group = option_group
            text = escape(label)
            chosen = html_attributes(value=value, selected=True)
            self.chosen[value] = (len(self.parts), f"<option {chosen}>{text}</option>")
            self.parts.append(f"<option {html_attributes(value=value)}>{text}</option>")
        if group is not None:
            self.parts.append("</optgroup>")

    def __call__(self, field: wtforms.Field, **kwargs: Any) -> Markup:
        parts = self.parts
        chosen = self.chosen.get(str(field.data))
        if chosen is not None:
            position, option = chosen
            parts = parts.copy()
            parts[position] = option
        kwargs.setdefault("id", field.id)
        attributes = html_attributes(name=field.name, **kwargs)
        # every part was escaped by html_attributes or escape()
        return Markup(  # noqa: S704  # nosec B704
            f"<select {attributes}>{''.join(parts)}</select>"
        )
