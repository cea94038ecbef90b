"""Signing in with the keyboard alone, always seeing where the focus is."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Member, account_menu, sign_in, sign_out

pytestmark = pytest.mark.browser

MAX_TABS = 10  # a form field further away than this is a chore to reach

FOCUSED = "document.activeElement"
FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const name = (el.innerText || el.getAttribute("aria-label") || el.id || "").trim();
  return {
    element: `${el.tagName.toLowerCase()} ${JSON.stringify(name.slice(0, 40))}`,
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
  };
}"""


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate(f"el => el === {FOCUSED}"))


def tab_to(page: Page, target: Locator) -> int:
    """Press Tab until `target` has the focus; return how many presses it took."""
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if is_focused(target):
            return presses
    pytest.fail(f"{MAX_TABS} presses of Tab never reached the field")


def test_keyboard_alone_signs_in(
    page: Page, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Katherine Johnson")
    page.goto("/auth/login")

    expect(page.get_by_label("E-mail")).to_be_focused()  # the form's first field
    page.keyboard.type(member.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(member.password)
    page.keyboard.press("Enter")

    expect(account_menu(page)).to_have_text("Katherine Johnson")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Hello, Katherine Johnson"
    )


def test_keyboard_alone_turns_on_two_factor_and_passes_the_second_step(
    page: Page, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Radia Perlman")
    sign_in(page, member)
    page.goto("/account/two-factor")
    expect(page.locator(".qr-code-box svg")).to_be_visible()
    # what a person copies into their app by hand
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)

    page.keyboard.press("Tab")  # the skip link passes the header and settings menu
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_label("Code from your app"))
    page.keyboard.type(totp.now())
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your password")).to_be_focused()
    page.keyboard.type(member.password)
    page.keyboard.press("Enter")

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Two-factor sign-in is on")
    codes = page.locator(".recovery-codes li")
    expect(codes).to_have_count(10)
    recovery_code = codes.first.inner_text()

    sign_out(page)
    page.goto("/auth/login")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(member.email)
    page.keyboard.press("Tab")
    page.keyboard.type(member.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    expect(page.get_by_label("Code", exact=True)).to_be_focused()
    # the app's code was used to turn it on: a recovery code signs in at once
    page.keyboard.type(recovery_code)
    page.keyboard.press("Enter")

    expect(account_menu(page)).to_have_text("Radia Perlman")


def test_every_tab_stop_on_the_sign_in_page_shows_a_focus_ring(page: Page) -> None:
    page.goto("/auth/login")
    sign_in_button = page.get_by_role("button", name="Sign in", exact=True)

    invisible = []
    for _ in range(MAX_TABS * 2):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring["style"] == "none" or ring["width"] == 0:
            invisible.append(ring)
        if is_focused(sign_in_button):
            break
    else:
        pytest.fail("Tab never reached the Sign in button")

    assert invisible == []


def test_skip_link_is_the_first_tab_stop_and_jumps_to_the_content(page: Page) -> None:
    page.goto("/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")

    main = page.get_by_role("main")
    expect(main.get_by_role("link", name="Create an account")).to_be_focused()
