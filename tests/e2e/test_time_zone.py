"""The browser tells the sign-in its time zone; without script, times stay in UTC."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import DESKTOP, LiveServer, Member, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("javascript", "zone_named"),
    [(True, re.compile(r" CES?T$")), (False, re.compile(r" UTC$"))],
    ids=["with-script", "without-script"],
)
def test_a_browser_in_berlin_signs_in_and_reads_its_session_in_berlin_time(
    browser: Browser,
    live_server: LiveServer,
    make_member: Callable[..., Member],
    javascript: bool,
    zone_named: re.Pattern[str],
) -> None:
    member = make_member()
    context = browser.new_context(
        base_url=live_server.url,
        viewport=DESKTOP,
        java_script_enabled=javascript,
        timezone_id="Europe/Berlin",
    )
    context.set_default_timeout(5_000)
    try:
        page = context.new_page()
        sign_in(page, member)
        page.goto("/account/sessions")

        signed_in_at = page.locator(".sessions li.current time").first
        expect(signed_in_at).to_have_text("just now")
        expect(signed_in_at).to_have_attribute("title", zone_named)
    finally:
        context.close()
