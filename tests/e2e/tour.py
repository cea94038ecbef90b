"""The key pages of the site, visited one after the other as a person would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from playwright.sync_api import Page

from tests.e2e.conftest import Member, sign_in


@dataclass(frozen=True)
class Stop:
    name: str
    path: str
    status: int = 200


SIGNED_OUT = [
    Stop("landing", "/"),
    Stop("register", "/auth/register"),
    Stop("login", "/auth/login"),
    Stop("forgot", "/auth/forgot"),
    Stop("not-found", "/no-such-page", 404),
]


def signed_in_stops(viewer: Member, other: Member) -> list[Stop]:
    """The pages a signed-in member sees, `other` being someone in the directory."""
    return [
        Stop("home", "/"),
        Stop("directory", "/users/"),
        Stop("profile", f"/users/{other.id}"),
        Stop("own-profile", f"/users/{viewer.id}"),
        Stop("account-profile", "/account/profile"),
        Stop("account-password", "/account/password"),
        Stop("account-email", "/account/email"),
        Stop("account-sessions", "/account/sessions"),
        Stop("account-two-factor", "/account/two-factor"),
        Stop("account-passkeys", "/account/passkeys"),
        Stop("account-security", "/account/security"),
        Stop("account-delete", "/account/delete"),
        Stop("not-found-signed-in", "/users/999999", 404),
    ]


def visit(page: Page, stop: Stop) -> None:
    """Open the stop's page and check it answered as expected."""
    response = page.goto(stop.path)
    assert response is not None, stop.path
    assert response.status == stop.status, f"{stop.path}: {response.status}"


def tour(page: Page, viewer: Member, other: Member) -> Iterator[Stop]:
    """Visit every key page signed out, then sign in as `viewer` and visit the rest.

    Yields after each page has loaded, so the caller can look at it.
    """
    for stop in SIGNED_OUT:
        visit(page, stop)
        yield stop
    sign_in(page, viewer)
    for stop in signed_in_stops(viewer, other):
        visit(page, stop)
        yield stop
