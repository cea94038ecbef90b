"""The site's form widgets write the same HTML as WTForms' own, hostile values too."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markupsafe import Markup
from wtforms import Form, SelectChoice, SelectField
from wtforms.widgets import html_params

from app.account.forms import zone_options
from app.web.widgets import FixedOptionsSelect, html_attributes

NAMES = st.sampled_from(
    ["value", "id", "name", "class_", "for_", "autocomplete", "aria_describedby",
     "aria_invalid", "data_field_name", "required", "maxlength", "type"]
)  # fmt: skip
VALUES = st.one_of(
    st.text(), st.text().map(Markup), st.booleans(), st.integers(), st.none()
)


@given(st.dictionaries(NAMES, VALUES, max_size=8))
@example({"value": Markup('"')})
def test_attributes_are_written_exactly_as_wtforms_writes_them(
    attributes: dict[str, object],
) -> None:
    assert html_attributes(**attributes) == html_params(**attributes)


def test_a_value_cannot_leave_its_attribute() -> None:
    written = html_attributes(value='"><script>alert(1)</script>', name="bio")

    assert "<script>" not in written
    assert (
        written == 'name="bio" value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"'
    )


class ZoneForm(Form):
    zone = SelectField(
        "Zone",
        choices=[
            SelectChoice(value, label, optgroup=group)
            for value, label, group in zone_options()
        ],
    )
    fast_zone = SelectField("Zone", widget=FixedOptionsSelect(zone_options()))


@pytest.mark.parametrize("chosen", [None, "Europe/Berlin", "UTC", "Mars/Olympus"])
def test_the_zone_select_writes_what_wtforms_select_writes(chosen: str | None) -> None:
    form = ZoneForm(meta={"csrf": False}, zone=chosen, fast_zone=chosen)
    attributes = {"aria_describedby": "zone-hint", "aria_invalid": False}

    wtforms_own = str(form.zone(**attributes)).replace('"zone"', '"fast_zone"')

    assert str(form.fast_zone(**attributes)) == wtforms_own
    assert ('<option selected value="Europe/Berlin">' in wtforms_own) == (
        chosen == "Europe/Berlin"
    )
