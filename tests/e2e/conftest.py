"""A live server with a real SMTP inbox, and a Chromium that visits it.

The app runs in a thread of this process, on a migrated database of its own,
served by werkzeug on a free port; its mail goes over SMTP to an aiosmtpd
inbox. Chromium is the distribution's: Playwright never downloads one, and
without /usr/bin/chromium every browser test is skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, make_server

from app import create_app
from app.extensions import db
from app.models import User
from tests.conftest import TEST_DATABASE_URL, _base_config, _clean_postgres
from tests.factories import PASSWORD, UserFactory
from tests.smtp import SmtpInbox

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_CHROMIUM = f"{CHROMIUM} not found: the browser tests need Debian's chromium"
# The live server's host name: a name, not an IP address, which browsers refuse as
# a passkey's relying party. Chromium resolves it to the loopback itself.
SERVER_HOST = "localhost"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}

# Reports every CSP violation to Python, whatever the page does with its console.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` on ${event.documentURI}`
  );
});
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


# --- mail -----------------------------------------------------------------------------


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    """A running SMTP server that the live server sends its mail to."""
    inbox = SmtpInbox()
    inbox.start()
    yield inbox
    inbox.stop()


# --- the live server ------------------------------------------------------------------


_responses = threading.local()  # the response bodies of this request thread


class _Body:
    """A response body that can be closed twice, the second time doing nothing."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close = getattr(self._body, "close", None)
            if close is not None:
                close()


class _KeepBodies:
    """WSGI middleware that hands each response body to the request handler."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        body = _Body(self.app(environ, start_response))
        _responses.bodies.append(body)
        return body


class _Handler(WSGIRequestHandler):
    """Close every response, as gunicorn does, and keep the access log quiet.

    werkzeug skips closing a response when the browser drops the connection
    (Chromium may, once it has a redirect's headers); closing runs the mail
    delivery the app schedules after a response, so it must never be skipped.
    """

    def run_wsgi(self) -> None:
        _responses.bodies = []
        try:
            super().run_wsgi()
        finally:
            for body in _responses.bodies:
                body.close()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(
    request: pytest.FixtureRequest, database_url: str, smtp_inbox: SmtpInbox
) -> Iterator[LiveServer]:
    """The app on a migrated database, served on a free port of 127.0.0.1.

    Its address, and the app's BASE_URL, name the host SERVER_HOST, where browsers
    allow passkeys; a test parametrized indirectly with another host name for
    live_server (such as "127.0.0.1") gets the site set up at that one.
    """
    host = getattr(request, "param", SERVER_HOST)
    app = create_app(
        {
            **_base_config(database_url),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_inbox.port,
            "MAIL_USE_TLS": False,
            "MAIL_USERNAME": None,
            "MAIL_PASSWORD": None,
        }
    )
    app.wsgi_app = _KeepBodies(app.wsgi_app)  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Handler)
    assert isinstance(server, ThreadedWSGIServer)
    # server_close() then waits for every request thread, and so for the mail the
    # app delivers after a response: the database must outlive it.
    server.daemon_threads = False
    url = f"http://{host}:{server.server_port}"
    app.config["BASE_URL"] = url  # links in mail lead back to this server
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server"
    )
    thread.start()
    yield LiveServer(url=url, app=app)
    server.shutdown()
    thread.join()
    server.server_close()
    if TEST_DATABASE_URL:
        _clean_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    email: str
    bio: str
    password: str = PASSWORD


@pytest.fixture
def make_member(live_server: LiveServer) -> Callable[..., Member]:
    """Create a verified, listed member straight in the live server's database."""

    def make(**fields: Any) -> Member:
        with live_server.app.app_context():
            user: User = UserFactory(**fields)
            member = Member(id=user.id, name=user.name, email=user.email, bio=user.bio)
            db.session.remove()
        return member

    return make


# --- the browser ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the whole run; each test gets fresh contexts."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@dataclass
class Tab:
    """A page in a browser of its own, with what its console reported."""

    page: Page
    console_errors: list[str]
    csp_violations: list[str]


OpenTab = Callable[..., Tab]


@pytest.fixture
def open_tab(browser: Browser, live_server: LiveServer) -> Iterator[OpenTab]:
    """Open a page in a new browser context (own cookies) on the live server."""
    contexts = []

    def open_(viewport: ViewportSize = DESKTOP, javascript: bool = True) -> Tab:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, java_script_enabled=javascript
        )
        context.set_default_timeout(5_000)
        contexts.append(context)
        console_errors: list[str] = []
        csp_violations: list[str] = []

        def on_csp_violation(report: str) -> None:
            csp_violations.append(report)

        if javascript:
            context.expose_function("reportCspViolation", on_csp_violation)
            context.add_init_script(REPORT_CSP)
        page = context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url") or page.url
                console_errors.append(f"{message.text} ({where})")

        def on_page_error(error: Error) -> None:
            console_errors.append(f"uncaught {error.name}: {error.message}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return Tab(page, console_errors, csp_violations)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_tab: OpenTab) -> Page:
    """A desktop-sized page on the live server."""
    return open_tab().page


def sign_in(page: Page, member: Member) -> None:
    """Sign in through the form, as a person would."""
    sign_in_form(page, member)
    expect(account_menu(page)).to_have_text(member.name)


def sign_in_form(page: Page, member: Member) -> None:
    """Fill in and send the (English) sign-in form."""
    page.goto("/auth/login")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password", exact=True).fill(member.password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def nav(page: Page) -> Locator:
    """The site's main navigation."""
    return page.get_by_role("navigation", name="Main")


def account_menu(page: Page) -> Locator:
    """The signed-in member's menu in the header, shown as their name."""
    return nav(page).locator(".account-menu summary")


def open_account_menu(page: Page) -> Locator:
    """Open the member's menu in the header; return the list of its links."""
    menu = nav(page).locator(".account-menu details")
    if menu.get_attribute("open") is None:
        account_menu(page).click()
    items = menu.get_by_role("list")
    expect(items).to_be_visible()
    return items


def sign_out(page: Page) -> None:
    """Sign out through the member's menu, as a person would."""
    open_account_menu(page).get_by_role("button", name="Sign out").click()
