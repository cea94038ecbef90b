"""Every key page can be used with a screen reader, and its text can be read."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import (
    audit,
    contrast_ratio,
    custom_colours,
    dark_colours,
    low_contrast_text,
)
from tests.e2e.conftest import Member
from tests.e2e.tour import tour

STYLESHEET = Path(__file__).parents[2] / "app" / "static" / "style.css"
TEXT_COLOURS = ["text", "muted", "accent", "error", "success"]
BACKGROUNDS = ["bg", "panel"]
TEXT_MINIMUM = 4.5  # WCAG 2 AA, 1.4.3, body-size text
NON_TEXT_MINIMUM = 3.0  # WCAG 2 AA, 1.4.11, a focus ring against what surrounds it
# buttons: the text on a plain button and on a "danger" one
PAIRS = [(text, bg) for text in TEXT_COLOURS for bg in BACKGROUNDS] + [
    ("accent-text", "accent"),
    ("accent-text", "error"),
]
SCHEMES = ["light", "dark"]  # the system's setting; dark mode follows it


@pytest.fixture(scope="module", params=SCHEMES)
def colours(request: pytest.FixtureRequest) -> dict[str, str]:
    """The palette a browser in light, then in dark mode, has."""
    return custom_colours(STYLESHEET.read_text(encoding="utf-8"), request.param)


def test_the_dark_palette_sets_every_colour_the_light_one_does() -> None:
    # A colour left out of dark mode would keep its light value on a dark page.
    stylesheet = STYLESHEET.read_text(encoding="utf-8")

    assert set(dark_colours(stylesheet)) == set(custom_colours(stylesheet))


@pytest.mark.parametrize(
    ("foreground", "background"), PAIRS, ids=[f"{f}-on-{b}" for f, b in PAIRS]
)
def test_text_colour_is_readable_on_its_background(
    colours: dict[str, str], foreground: str, background: str
) -> None:
    ratio = contrast_ratio(colours[foreground], colours[background])

    assert ratio >= TEXT_MINIMUM, (
        f"--{foreground} {colours[foreground]} on --{background} "
        f"{colours[background]} is {ratio:.2f}:1"
    )


def test_a_fields_border_stands_out_from_the_page(colours: dict[str, str]) -> None:
    ratio = contrast_ratio(colours["field-border"], colours["bg"])

    assert ratio >= NON_TEXT_MINIMUM, (
        f"--field-border {colours['field-border']} on --bg {colours['bg']} "
        f"is {ratio:.2f}:1"
    )


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_focus_ring_stands_out_from_the_page(
    colours: dict[str, str], background: str
) -> None:
    ratio = contrast_ratio(colours["focus"], colours[background])

    assert ratio >= NON_TEXT_MINIMUM, (
        f"--focus {colours['focus']} on --{background} {colours[background]} "
        f"is {ratio:.2f}:1"
    )


def readable(page: Page) -> list[str]:
    """The page's audit, and its text as drawn in light and in dark mode."""
    problems = audit(page)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found = low_contrast_text(page, TEXT_MINIMUM)
        problems += [f"{scheme}: {problem}" for problem in found]
    page.emulate_media(color_scheme="light")
    return problems


@pytest.mark.browser
def test_key_pages_pass_the_accessibility_audit_with_readable_text_light_and_dark(
    page: Page, make_member: Callable[..., Member]
) -> None:
    # The palettes are checked above; this checks the text as the browser draws
    # it, so a colour written outside the palette is caught in either mode.
    viewer = make_member(name="Grace Hopper", bio="Found a moth.")
    other = make_member(name="Ada Lovelace", bio="Wrote the first program.")

    problems = {stop.name: readable(page) for stop in tour(page, viewer, other)}

    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.browser
def test_register_form_with_errors_ties_each_error_to_its_field(page: Page) -> None:
    page.goto("/auth/register")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_label("Name")).to_have_accessible_description("Enter your name.")
    expect(page.get_by_label("E-mail")).to_have_accessible_description(
        "Enter your e-mail address."
    )
    expect(page.get_by_label("Password", exact=True)).to_have_accessible_description(
        re.compile(r"^At least 10 characters\..* Choose a password\.$")
    )
    expect(page.get_by_label("Confirm password")).to_have_accessible_description(
        "Type the password again."
    )
    for label in ("Name", "E-mail", "Password", "Confirm password"):
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
    assert audit(page) == []
