"""What a person notices of the site's look: the header, password fields, the scripts.

The header holds one row inside the screen down to a 320 px phone, signed in
(whatever the member's name) or out, and the member's menu in it closes on Escape
and on a click elsewhere; every password field tells password managers what it is
and for which account; the "show password" button reveals what was typed, and the
forms work without the scripts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import audit
from tests.e2e.conftest import (
    PHONE,
    Member,
    OpenTab,
    account_menu,
    open_account_menu,
    sign_in,
)
from tests.e2e.tour import tour

pytestmark = pytest.mark.browser

LONGEST_NAME = "Maximiliana Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh Jr"
LONGEST_NAME = (LONGEST_NAME + " " + "X" * 80)[:80]

# The header's parts, where each sits: one row means one top for all of them, inside
# the screen means no left below 0 and no right past its width.
HEADER_ROW = """() => {
  const nav = document.querySelector(".site-header nav");
  const items = nav.querySelectorAll(":scope > ul > li");
  const parts = [nav.querySelector(".brand"), ...items];
  const boxes = parts.map((el) => el.getBoundingClientRect());
  const targets = [...nav.querySelectorAll(".brand, :scope > ul > li > a, summary")];
  return {
    tops: boxes.map((box) => Math.round(box.top)),
    bottoms: boxes.map((box) => Math.round(box.bottom)),
    left: Math.min(...boxes.map((box) => box.left)),
    right: Math.max(...boxes.map((box) => box.right)),
    smallest_target: Math.min(...targets.flatMap((el) => {
      const box = el.getBoundingClientRect();
      return [box.width, box.height];
    })),
    screen: window.innerWidth,
    page: document.documentElement.scrollWidth,
  };
}"""

# Every password field: its autocomplete hint, and its form's username field.
PASSWORD_FIELDS = """() => [...document.querySelectorAll('input[type="password"]')].map(
  (input) => ({
    name: input.name,
    autocomplete: input.getAttribute("autocomplete"),
    username: input.form?.querySelector('[autocomplete="username"]')?.value ?? null,
  })
)"""


def one_row(page: Page) -> dict[str, Any] | None:
    """Return where the header's parts sit unless they take one row inside the screen.

    The page must not scroll sideways either, and each link stays at least 24 px
    wide and high, the smallest target a finger or a shaky hand is promised.
    """
    row: dict[str, Any] = page.evaluate(HEADER_ROW)
    spread = max(row["tops"]) - min(row["tops"])
    overlapping = min(row["bottoms"]) > max(row["tops"])
    inside = row["left"] >= 0 and row["right"] <= row["screen"]
    fits = row["page"] <= row["screen"] and row["smallest_target"] >= 24
    return None if spread <= 8 and overlapping and inside and fits else row


@pytest.mark.parametrize("width", [320, 360, PHONE["width"]])
def test_the_header_is_one_row_on_a_phone_with_the_longest_name(
    open_tab: OpenTab, make_member: Callable[..., Member], width: int
) -> None:
    viewer = make_member(name=LONGEST_NAME)
    other = make_member(name=LONGEST_NAME[::-1])
    page = open_tab(viewport={"width": width, "height": PHONE["height"]}).page

    rows = {stop.name: one_row(page) for stop in tour(page, viewer, other)}

    assert {name: row for name, row in rows.items() if row} == {}
    # shortened to fit, but the whole name is there for whoever points at it
    expect(account_menu(page)).to_have_attribute("title", LONGEST_NAME)


def test_the_members_menu_holds_their_pages_and_signs_out(
    page: Page, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Hedy Lamarr")
    sign_in(page, member)

    account_menu(page).click()
    menu = page.locator(".account-menu details ul")
    expect(menu.get_by_role("link")).to_have_text(["Your profile", "Account settings"])
    menu.get_by_role("button", name="Sign out").click()

    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_the_members_menu_closes_on_escape_and_on_a_click_elsewhere(
    page: Page, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Hedy Lamarr")
    sign_in(page, member)
    page.goto("/users/")
    menu = page.locator(".account-menu details")

    # by keyboard: open it, step into it, Escape
    account_menu(page).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Your profile")).to_be_focused()
    page.keyboard.press("Escape")

    expect(menu.get_by_role("list")).to_be_hidden()
    expect(account_menu(page)).to_be_focused()

    # by pointer: open it, click the page beside it
    open_account_menu(page)
    page.get_by_role("heading", name="Members").click()

    expect(menu.get_by_role("list")).to_be_hidden()
    expect(page.get_by_label("Search by name")).to_be_editable()
    page.get_by_label("Search by name").click()  # no menu left over the search


def test_every_password_field_says_what_it_is_and_for_which_account(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Ada Lovelace")
    page = open_tab().page
    found: dict[str, list[dict[str, Any]]] = {}
    for path in ["/auth/login", "/auth/register"]:
        page.goto(path)
        found[path] = page.evaluate(PASSWORD_FIELDS)
    sign_in(page, member)
    for path in [
        "/account/password",
        "/account/email",
        "/account/two-factor",
        "/account/delete",
    ]:
        page.goto(path)
        found[path] = page.evaluate(PASSWORD_FIELDS)

    hints = {"current-password", "new-password"}
    wrong = {
        path: fields
        for path, fields in found.items()
        if not fields
        or any(field["autocomplete"] not in hints for field in fields)
        or any(
            field["username"] != member.email
            for field in fields
            if path.startswith("/account/")
        )
    }
    assert wrong == {}


def test_show_password_reveals_what_was_typed_and_the_form_still_signs_in(
    page: Page, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Grace Hopper")
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(member.email)
    password = page.get_by_label("Password", exact=True)
    password.fill(member.password)

    page.get_by_role("button", name="Show password").click()

    expect(password).to_have_attribute("type", "text")
    expect(password).to_have_value(member.password)
    # its name begins with the word it shows now (it said "Show password" over "Hide")
    hide = page.get_by_role("button", name="Hide password")
    expect(hide).to_have_text("Hide")
    assert audit(page) == []
    hide.click()
    expect(password).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show password").click()
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(account_menu(page)).to_have_text("Grace Hopper")


def test_the_show_password_button_is_named_as_it_reads(page: Page) -> None:
    page.goto("/auth/login")
    button = page.locator(".show-password")
    expect(button).to_have_text("Show")
    expect(button).to_have_accessible_name("Show password")

    button.click()
    expect(button).to_have_text("Hide")
    expect(button).to_have_accessible_name("Hide password")
    # its name says what it does; a pressed state would say it a second time
    expect(button).not_to_have_attribute("aria-pressed", re.compile(""))

    button.click()
    expect(button).to_have_text("Show")
    expect(button).to_have_accessible_name("Show password")


def test_without_the_script_there_is_no_button_and_the_form_works(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Grace Hopper")
    page = open_tab(javascript=False).page
    page.goto("/auth/login")

    expect(page.get_by_role("button", name="Show password")).to_have_count(0)
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password", exact=True).fill(member.password)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(account_menu(page)).to_have_text("Grace Hopper")
    # the menu opens without a script too
    account_menu(page).click()
    menu = page.locator(".account-menu details ul")
    expect(menu.get_by_role("link", name="Account settings")).to_be_visible()
