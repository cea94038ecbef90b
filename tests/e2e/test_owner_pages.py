"""The owner's pages in Chromium: focus after a refusal, recovery codes kept, names
and addresses that fit (issue 23)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    Member,
    OpenTab,
    account_menu,
    sign_in,
)
from tests.e2e.test_screenshots import look_over

pytestmark = pytest.mark.browser

LONG_NAME = "Maria Konstantinopoulou-Vanderbilt de la Fontaine"
CODES = ".recovery-codes code"


def turn_on_two_factor(page: Page, member: Member) -> list[str]:
    """Turn two-factor on through the set-up page; return the codes shown."""
    page.goto("/account/two-factor")
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_label("Your password").fill(member.password)
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Two-factor sign-in is on"
    )
    return page.locator(CODES).all_inner_texts()


def test_a_refused_sign_up_puts_the_focus_on_the_field_to_fix(page: Page) -> None:
    page.goto("/auth/register")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("password123")
    page.get_by_label("Confirm password").fill("password123")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")


def test_recovery_codes_are_downloaded_copied_and_printed(
    open_tab: OpenTab,
    live_server: LiveServer,
    make_member: Callable[..., Member],
    tmp_path: Path,
) -> None:
    tab = open_tab()
    page = tab.page
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    member = make_member(name="Radia Perlman")
    sign_in(page, member)
    codes = turn_on_two_factor(page, member)
    assert len(codes) == 10
    # the page of codes at both sizes, light and dark, as the tour looks at pages
    wrong = look_over(page, "recovery-codes")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    page.evaluate("window.print = () => { window.printAsked = true; }")
    page.get_by_role("button", name="Print").click()

    assert saved.name == "vestibule-recovery-codes.txt"
    assert all(code in saved.read_text(encoding="utf-8") for code in codes)
    assert copied.split() == codes
    assert page.evaluate("window.printAsked") is True
    assert tab.csp_violations == [] and tab.console_errors == []
    assert {where: found for where, found in wrong.items() if found} == {}


def test_the_second_step_offers_a_recovery_code_field_of_its_own(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    member = make_member(name="Radia Perlman")
    page = open_tab().page
    sign_in(page, member)
    codes = turn_on_two_factor(page, member)
    page.context.clear_cookies()
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password", exact=True).fill(member.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    code = page.get_by_label("Code", exact=True)
    expect(code).to_have_attribute("inputmode", "numeric")
    wrong = look_over(page, "second-step")

    page.get_by_text("Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(account_menu(page)).to_have_text(member.name)
    assert {where: found for where, found in wrong.items() if found} == {}


def test_printed_recovery_codes_keep_each_code_on_one_line(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    # Printed, the settings menu is left out: the codes must not be squeezed into
    # the menu's narrow column, where each code broke at its hyphen.
    member = make_member(name="Radia Perlman")
    page = open_tab(viewport=DESKTOP).page
    sign_in(page, member)
    turn_on_two_factor(page, member)

    page.emulate_media(media="print")
    lines = page.locator(CODES).evaluate_all(
        "codes => codes.map(c => c.getClientRects().length)"
    )

    assert lines == [1] * 10


def test_recovery_codes_download_without_javascript(
    open_tab: OpenTab, make_member: Callable[..., Member], tmp_path: Path
) -> None:
    member = make_member(name="Radia Perlman")
    page = open_tab(javascript=False).page
    sign_in(page, member)

    codes = turn_on_two_factor(page, member)

    expect(page.get_by_role("button", name="Copy")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    saved = tmp_path / "codes.txt"
    download.value.save_as(saved)
    assert all(code in saved.read_text(encoding="utf-8") for code in codes)


def test_a_long_name_in_the_desktop_header_is_whole_while_there_is_room(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    member = make_member(name=LONG_NAME)
    page = open_tab(viewport=DESKTOP).page
    sign_in(page, member)

    name = account_menu(page).locator(".who")
    cut = name.evaluate("el => el.scrollWidth > el.clientWidth")

    assert cut is False


def test_the_longest_name_is_cut_to_fit_a_narrow_desktop_header(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    member = make_member(name=("Maria Konstantinopoulou-Vanderbilt " * 3)[:80])
    page = open_tab(viewport={"width": 700, "height": 800}).page
    sign_in(page, member)

    name = account_menu(page).locator(".who")
    cut = name.evaluate("el => el.scrollWidth > el.clientWidth")
    scrolls = page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )

    assert cut is True and scrolls is False


def test_a_long_address_on_check_your_inbox_wraps_on_a_phone(
    open_tab: OpenTab,
) -> None:
    page = open_tab(viewport=PHONE).page
    address = "katherine.coleman.goble.johnson.1918@langley-research.example.org"
    page.goto("/auth/forgot")
    page.get_by_label("E-mail").fill(address)
    page.get_by_role("button", name="Send the link").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page.locator(".address").first).to_have_text(address)
    scrolls = page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert scrolls is False
    wrong = look_over(page, "check-inbox")
    assert {where: found for where, found in wrong.items() if found} == {}
