"""The key pages run clean in the browser: no console errors, nothing the CSP blocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Member, OpenTab
from tests.e2e.tour import Stop, tour

pytestmark = pytest.mark.browser


def is_the_pages_own_status(error: str, stop: Stop, url: str) -> bool:
    """Whether `error` is only Chromium noting that the page answered an error status.

    A 404 page is meant to answer 404; anything else it logs still counts.
    """
    return (
        stop.status >= 400
        and error.startswith(
            f"Failed to load resource: the server responded with a status of "
            f"{stop.status} "
        )
        and error.endswith(f"({url})")
    )


def test_key_pages_log_no_console_errors_and_no_csp_violations(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    tab = open_tab()
    viewer = make_member(name="Grace Hopper", bio="Found a moth.")
    other = make_member(name="Ada Lovelace", bio="Wrote the first program.")

    errors: dict[str, list[str]] = {}
    violations: dict[str, list[str]] = {}

    def note(stop: Stop) -> None:
        found = [
            error
            for error in tab.console_errors
            if not is_the_pages_own_status(error, stop, tab.page.url)
        ]
        errors.setdefault(stop.name, []).extend(found)
        violations.setdefault(stop.name, []).extend(tab.csp_violations)
        tab.console_errors.clear()
        tab.csp_violations.clear()

    # a late request (the icon) may report at the next stop: it still counts
    for stop in tour(tab.page, viewer, other):
        note(stop)
    tab.page.wait_for_load_state("networkidle")
    note(stop)

    assert {name: found for name, found in errors.items() if found} == {}
    assert {name: found for name, found in violations.items() if found} == {}
