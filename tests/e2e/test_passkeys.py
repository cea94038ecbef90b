"""Passkeys in Chromium, made and used by its DevTools virtual authenticator.

A member adds a passkey, signs in with it by the button and by the e-mail field's
autofill, and removes it, on a desktop and on a phone screen; a site set up on an
IP address says why passkeys are unavailable instead of failing.

Headless Chromium shows no autofill list, so no one can pick a passkey from it
(keys pressed in the e-mail field reach the page, not a list). Its virtual
authenticator instead answers a conditional (autofill) request by itself, with a
passkey it holds for the site, as soon as the request is made, if automatic
presence simulation is on at that moment: it needs neither the field's focus nor
its "webauthn" autocomplete token. Made with the simulation off, the request
waits, and turning the simulation on later does not answer it. So the button is
tried with the simulation off while the page loads (the autofill's request then
waits), the autofill with it on, and the field's token is checked as an attribute.

Screenshots land in tests/e2e/artifacts/ (passkeys-*.png); docs/passkeys.png is
a copy of passkeys-docs.png, the list clipped to the page's content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import CDPSession, Locator, Page, Request, Route, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    SERVER_HOST,
    LiveServer,
    Member,
    OpenTab,
    account_menu,
    sign_in,
    sign_out,
)
from tests.e2e.test_phone import sideways
from tests.e2e.test_screenshots import ARTIFACTS

pytestmark = pytest.mark.browser

PASSKEY_NAME = "Work laptop"
# Notes, across pages, how the page asks for a passkey: "conditional" (the
# autofill) or "modal" (a button). Only notes it: the request is the page's.
NOTE_REQUESTS = """
const getCredential = navigator.credentials.get.bind(navigator.credentials);
navigator.credentials.get = (options) => {
  const asked = getCredential(options);
  window.notePasskeyRequest((options && options.mediation) || "modal");
  return asked;
};
"""
IP_HOST = "127.0.0.1"
ON_AN_IP_ADDRESS = (
    f"Passkeys are not available here: this site is set up on an IP address "
    f"({IP_HOST}), and browsers only allow passkeys on a domain name. Open the site "
    f"at a name such as localhost instead."
)


@dataclass
class VirtualAuthenticator:
    """A platform authenticator in the browser, with the member's fingerprint."""

    session: CDPSession
    id: str
    requests: list[str] = field(default_factory=list)  # as NOTE_REQUESTS notes them

    def answer_by_itself(self, on: bool) -> None:
        """Turn on or off the simulation of the member's touch, for new requests."""
        self.session.send(
            "WebAuthn.setAutomaticPresenceSimulation",
            {"authenticatorId": self.id, "enabled": on},
        )

    def note_request(self, mediation: str) -> None:
        """Note that the page asked for a passkey, in this way."""
        self.requests.append(mediation)

    def passkeys(self) -> list[dict[str, Any]]:
        """Return the passkeys the authenticator holds."""
        answer = self.session.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.id}
        )
        credentials: list[dict[str, Any]] = answer["credentials"]
        return credentials


def add_virtual_authenticator(page: Page) -> VirtualAuthenticator:
    """Give the page's browser a passkey authenticator that verifies its user."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    authenticator = VirtualAuthenticator(session, added["authenticatorId"])
    page.context.expose_function("notePasskeyRequest", authenticator.note_request)
    page.context.add_init_script(NOTE_REQUESTS)
    return authenticator


def wait_for_request(page: Page, authenticator: VirtualAuthenticator) -> None:
    """Wait until the page has asked for a passkey."""
    for _ in range(200):
        if authenticator.requests:
            return
        page.wait_for_timeout(10)
    raise AssertionError("the page asked for no passkey")


def passkey_items(page: Page) -> Locator:
    """The passkeys the page lists."""
    return page.locator("ul.passkeys > li")


def space_between(first: Locator, second: Locator) -> float:
    """How far the second stands from the first, beside or below it (px)."""
    one, two = first.bounding_box(), second.bounding_box()
    assert one is not None and two is not None
    return max(
        two["x"] - (one["x"] + one["width"]), two["y"] - (one["y"] + one["height"])
    )


def posts_of(page: Page) -> list[str]:
    """Start noting the paths the page posts to; return the list they go to."""
    posted: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST":
            posted.append(urlsplit(request.url).path)

    page.on("request", note)
    return posted


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_member_adds_a_passkey_signs_in_with_it_by_button_and_autofill_and_removes_it(
    open_tab: OpenTab,
    live_server: LiveServer,
    make_member: Callable[..., Member],
    screen: str,
) -> None:
    tab = open_tab(viewport=DESKTOP if screen == "desktop" else PHONE)
    page = tab.page
    authenticator = add_virtual_authenticator(page)
    member = make_member(name="Ada Lovelace")
    ARTIFACTS.mkdir(exist_ok=True)

    # add one: the password first, then the browser makes it
    sign_in(page, member)
    page.goto("/account/passkeys")
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    page.get_by_label("Name of the passkey").fill(PASSKEY_NAME)
    page.get_by_label("Your password").fill(member.password)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("main")).to_contain_text(
        f"Passkey “{PASSKEY_NAME}” added: you can sign in with it now."
    )
    expect(passkey_items(page)).to_have_count(1)
    expect(passkey_items(page)).to_contain_text(PASSKEY_NAME)
    expect(passkey_items(page)).to_contain_text("not used yet")
    [made] = authenticator.passkeys()
    assert made["rpId"] == "localhost"
    assert made["isResidentCredential"]  # found without an address typed
    assert made["userName"] == member.email
    page.screenshot(path=ARTIFACTS / f"passkeys-added-{screen}.png", full_page=True)
    if screen == "desktop":
        page.get_by_role("main").screenshot(path=ARTIFACTS / "passkeys-docs.png")
    else:
        assert sideways(page) is None

    # sign in with the button, no address typed. The page's autofill request is
    # made while the authenticator answers nothing; it answers again once the click
    # cancelled that request, while the button's request waits for its options.
    sign_out(page)
    authenticator.requests.clear()
    authenticator.answer_by_itself(False)
    page.goto("/auth/login")
    wait_for_request(page, authenticator)
    email = page.get_by_label("E-mail")
    expect(email).to_have_value("")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("autocomplete", "username webauthn")
    page.screenshot(path=ARTIFACTS / f"passkeys-sign-in-{screen}.png", full_page=True)

    def answer_again(route: Route) -> None:
        authenticator.answer_by_itself(True)
        route.continue_()

    page.route("**/auth/passkey/options", answer_again, times=1)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(account_menu(page)).to_have_text(member.name)
    assert authenticator.requests == ["conditional", "modal"]

    # sign in through the e-mail field's autofill, touching nothing on the page
    sign_out(page)
    authenticator.requests.clear()
    posted = posts_of(page)
    page.goto("/auth/login", wait_until="commit")
    expect(account_menu(page)).to_have_text(member.name)
    assert posted == ["/auth/passkey/options", "/auth/passkey"]
    assert authenticator.requests == ["conditional"]

    # remove it: a confirmation page, then the list is empty
    page.goto("/account/passkeys")
    expect(passkey_items(page)).to_contain_text("last used")
    page.get_by_role("link", name=f"Remove the passkey {PASSKEY_NAME}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove a passkey")
    expect(page.get_by_role("main")).to_contain_text(
        f"Remove the passkey “{PASSKEY_NAME}”?"
    )
    remove = page.get_by_role("button", name="Remove the passkey")
    assert space_between(remove, page.get_by_role("link", name="Keep it")) >= 8
    page.screenshot(path=ARTIFACTS / f"passkeys-remove-{screen}.png", full_page=True)
    remove.click()
    expect(page.get_by_role("main")).to_contain_text(
        f"Passkey “{PASSKEY_NAME}” removed: it no longer signs in to this account."
    )
    expect(passkey_items(page)).to_have_count(0)
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()

    assert tab.csp_violations == [] and tab.console_errors == []


@pytest.mark.parametrize("live_server", [IP_HOST], indirect=True)
def test_a_site_on_an_ip_address_says_passkeys_are_unavailable_and_signs_in_by_password(
    open_tab: OpenTab, live_server: LiveServer, make_member: Callable[..., Member]
) -> None:
    tab = open_tab()
    page = tab.page
    posted = posts_of(page)
    member = make_member(name="Ada Lovelace")
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto("/auth/login")
    expect(page.get_by_role("main")).to_contain_text(ON_AN_IP_ADDRESS)
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "passkeys-unavailable-sign-in-desktop.png")
    sign_in(page, member)
    response = page.goto("/account/passkeys")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(ON_AN_IP_ADDRESS)
    expect(page.get_by_role("button", name="Add a passkey")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "passkeys-unavailable-account-desktop.png")

    assert posted == ["/auth/login"]  # no passkey request was made
    assert tab.csp_violations == [] and tab.console_errors == []


def test_a_page_asked_at_the_ip_address_of_a_named_site_names_where_passkeys_work(
    open_tab: OpenTab, live_server: LiveServer
) -> None:
    tab = open_tab()
    page = tab.page
    at_ip = live_server.url.replace(f"//{SERVER_HOST}:", f"//{IP_HOST}:")

    page.goto(at_ip + "/auth/login")

    expect(page.get_by_role("main")).to_contain_text(
        "Passkeys are not available at this address: open the site at "
        f"{live_server.url} to use them."
    )
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)
    assert tab.csp_violations == [] and tab.console_errors == []
