"""A newcomer's whole first visit, in a real browser, with real mail."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    LiveServer,
    Member,
    account_menu,
    nav,
    open_account_menu,
    sign_out,
)
from tests.smtp import SmtpInbox

pytestmark = pytest.mark.browser

PASSWORD = "lantern orchard quietly sixteen"
LINK_RE = re.compile(r"https?://\S+")


def test_newcomer_signs_up_verifies_edits_profile_finds_a_member_and_signs_out(
    page: Page,
    live_server: LiveServer,
    smtp_inbox: SmtpInbox,
    make_member: Callable[..., Member],
) -> None:
    ada = make_member(name="Ada Lovelace", bio="Wrote the first program.")
    make_member(name="Alan Turing")

    # sign up
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="Create an account").click()
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("E-mail").fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    # open the link from the mail
    mail = smtp_inbox.wait_for("grace@example.com", "Confirm your e-mail address")
    [link] = LINK_RE.findall(mail.get_content())
    assert link.startswith(live_server.url + "/auth/verify/")
    page.goto(link)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("Your e-mail address is verified")).to_be_visible()
    expect(account_menu(page)).to_have_text("Grace Hopper")

    # edit the profile
    open_account_menu(page).get_by_role("link", name="Account settings").click()
    expect(page.get_by_label("Name")).to_have_value("Grace Hopper")
    page.get_by_label("Name").fill("Grace Brewster Hopper")
    page.get_by_label("Bio").fill("Found a moth in the relay.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(account_menu(page)).to_have_text("Grace Brewster Hopper")
    open_account_menu(page).get_by_role("link", name="Your profile").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Brewster Hopper")
    expect(page.get_by_text("Found a moth in the relay.")).to_be_visible()

    # find a member and open their profile
    nav(page).get_by_role("link", name="Members").click()
    page.get_by_label("Search by name").fill("lovelace")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("main").get_by_role("list")
    expect(results.get_by_role("link")).to_have_text(["Ada Lovelace"])
    results.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(f"{live_server.url}/users/{ada.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.get_by_text("Wrote the first program.")).to_be_visible()

    # sign out: the account pages now ask to sign in
    sign_out(page)
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/account/profile")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2Faccount%2Fprofile$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
