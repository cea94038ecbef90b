"""The admin area in the browser: an action that signs a member out asks once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import audit, low_contrast_text
from tests.e2e.conftest import Member, OpenTab, sign_in
from tests.e2e.test_screenshots import look_over

pytestmark = pytest.mark.browser


def test_an_admin_is_asked_once_before_deactivating_a_member(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    admin = make_member(name="Ada Admin", is_admin=True)
    member = make_member(name="Dora Doe")
    page = open_tab().page
    sign_in(page, admin)
    page.goto("/admin/users?q=dora")
    wrong = look_over(page, "admin-users")

    page.get_by_role("button", name="Deactivate Dora Doe").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Deactivate Dora Doe?")
    expect(page.get_by_text(member.email)).to_be_visible()
    expect(page.get_by_text("signed out of every browser at once")).to_be_visible()
    wrong |= look_over(page, "admin-confirm")
    wrong["audit"] = audit(page)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        wrong[f"contrast-{scheme}"] = low_contrast_text(page)
    page.emulate_media(color_scheme="light")
    assert {where: found for where, found in wrong.items() if found} == {}

    page.get_by_role("link", name="Cancel").click()  # changes nothing
    expect(page).to_have_url(re.compile(r"/admin/users\?q=dora$"))
    page.get_by_role("button", name="Deactivate Dora Doe").click()
    page.get_by_role("button", name="Deactivate: Dora Doe").click()

    expect(page).to_have_url(re.compile(r"/admin/users\?q=dora$"))
    expect(
        page.get_by_text("Dora Doe is deactivated and signed out everywhere.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Activate Dora Doe")).to_be_visible()
