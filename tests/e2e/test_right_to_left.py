"""Arabic pages read right to left: the layout mirrors, addresses and codes do not.

A member who reads Arabic, on a 375 px phone and a 1280 px desktop: every page of the
tour is `dir="rtl"` and `lang="ar"`, scrolls sideways on neither side, has the site's
name at the right of the header and the member's menu at its left, the settings menu
at the right of the settings (on the desktop, where they stand side by side), and the
fields for an address, a password or a code written left to right. Screenshots land
in tests/e2e/artifacts/ (right-to-left-*.png).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Member, OpenTab, sign_in_form
from tests.e2e.tour import SIGNED_OUT, signed_in_stops, visit

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
SCREENS: dict[str, ViewportSize] = {"desktop": DESKTOP, "phone": PHONE}

# How far the page reaches past either edge of the screen: its sideways scroll, and
# what sticks out on either side (in a right-to-left page what sticks out at the
# right cannot even be scrolled to). What stands wholly off the screen on purpose
# (the "skip to content" link, until it has the focus) is not counted.
OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  let left = 0, right = 0;
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= 0 || box.left >= width) continue;
    left = Math.max(left, -box.left);
    right = Math.max(right, box.right - width);
  }
  return {scroll: root.scrollWidth - width, left: left, right: right};
}"""
# The direction each kind of field is written in.
FIELD_DIRECTIONS = """() => Object.fromEntries(
  [...document.querySelectorAll("input[type=email], input[type=password],"
    + " input[autocomplete=one-time-code], input[inputmode=numeric]")]
    .filter((input) => input.type !== "hidden")
    .map((input) => [input.name, getComputedStyle(input).direction])
)"""


def sign_in_in_english(page: Page, member: Member) -> None:
    """Sign in on the (English) sign-in page; the member's pages are in Arabic."""
    sign_in_form(page, member)
    expect(page.locator(".account-menu summary")).to_contain_text(member.name)


def left_of(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["x"]


@pytest.mark.parametrize("screen", SCREENS)
def test_arabic_pages_mirror_and_keep_addresses_and_codes_left_to_right(
    screen: str, open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    viewer = make_member(name="ليلى حداد", language="ar")
    other = make_member(name="سمير خوري", language="ar")
    page = open_tab(viewport=SCREENS[screen]).page
    sign_in_in_english(page, viewer)
    problems: dict[str, object] = {}
    fields: dict[str, str] = {}
    for stop in signed_in_stops(viewer, other):
        visit(page, stop)
        root = page.locator("html")
        if (root.get_attribute("dir"), root.get_attribute("lang")) != ("rtl", "ar"):
            problems[f"{stop.name}: html"] = root.get_attribute("dir")
        overflow = page.evaluate(OVERFLOW)
        if overflow["scroll"] > 0 or overflow["left"] > 0.5 or overflow["right"] > 0.5:
            problems[f"{stop.name}: sideways"] = overflow
        if left_of(page, ".brand") <= left_of(page, ".account-menu"):
            problems[f"{stop.name}: header"] = "the site's name is not at the right"
        side_by_side = screen == "desktop" and page.locator(".settings-menu").count()
        if side_by_side and left_of(page, ".settings-menu") <= left_of(page, "main h1"):
            problems[f"{stop.name}: settings"] = "the menu is not at the right"
        fields.update(page.evaluate(FIELD_DIRECTIONS))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"right-to-left-{stop.name}-{screen}.png")
    assert problems == {}
    assert {"email", "password", "current", "confirm", "code"} <= set(fields)
    assert {name: way for name, way in fields.items() if way != "ltr"} == {}


def test_a_visitor_who_picked_arabic_signs_in_on_a_right_to_left_page(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    page = open_tab(viewport=PHONE).page
    page.context.add_cookies(
        [{"name": "vestibule_language", "value": "ar", "url": live_server.url}]
    )
    visit(page, SIGNED_OUT[2])  # the sign-in page
    root = page.locator("html")
    assert (root.get_attribute("dir"), root.get_attribute("lang")) == ("rtl", "ar")
    assert page.evaluate(FIELD_DIRECTIONS) == {"email": "ltr", "password": "ltr"}
    assert page.evaluate(OVERFLOW) == {"scroll": 0, "left": 0, "right": 0}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "right-to-left-login-phone.png")


def test_a_shown_password_reads_as_typed_on_a_right_to_left_page(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    # Shown, the field is a text field: it must stay left to right as the password
    # was typed ("!horse 42." is not to read ".horse 42!"), its text clear of the
    # "show" button at its left.
    page = open_tab(viewport=PHONE).page
    page.context.add_cookies(
        [{"name": "vestibule_language", "value": "ar", "url": live_server.url}]
    )
    visit(page, SIGNED_OUT[2])  # the sign-in page
    field = page.locator("#password")
    field.fill("!correct horse 42.")
    page.locator(".show-password").click()
    expect(field).to_have_attribute("type", "text")
    assert field.evaluate("e => getComputedStyle(e).direction") == "ltr"
    button = page.locator(".show-password").bounding_box()
    box = field.bounding_box()
    assert button is not None and box is not None
    text_starts = box["x"] + float(
        field.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)")
    )
    assert text_starts >= button["x"] + button["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "right-to-left-password-shown-phone.png")
