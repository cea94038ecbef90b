"""Fixtures: a fresh app and migrated database per test, a browser-like client."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from app.models import OutboxMail, User
from app.services import mailer
from tests.factories import PASSWORD, UserFactory
from tests.routes import bp as testing_routes

TRANSLATIONS = Path(__file__).resolve().parent.parent / "app" / "translations"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
LINK_RE = re.compile(r"https?://\S+")


@cache
def _catalog(code: str) -> Catalog:
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source)


def said(code: str, text: str, **values: Any) -> str:
    """Return `text` as the catalog of language `code` says it, placeholders filled.

    What a page or mail should say in a language, whatever words its translators
    chose ("de", "Reset your password" -> "Passwort zurücksetzen").
    """
    message = _catalog(code).get(text)
    assert message is not None and message.string, f"not in the catalog: {text!r}"
    assert isinstance(message.string, str)
    return message.string % values if values else message.string


def pytest_report_header() -> list[str]:
    return [
        "database: "
        + ("PostgreSQL (TEST_DATABASE_URL)" if TEST_DATABASE_URL else "SQLite"),
        "redis: "
        + ("TEST_REDIS_URL" if TEST_REDIS_URL else "not set, redis tests skipped"),
    ]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile each catalog whose .mo is missing or older than its .po, as make does.

    So that a run of pytest alone (not `make test`) serves the languages too.
    """
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and not TEST_DATABASE_URL:
            item.add_marker(pytest.mark.skip(reason="TEST_DATABASE_URL is not set"))
        if "redis" in item.keywords and not TEST_REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="TEST_REDIS_URL is not set"))


def free_port() -> int:
    """Return a port on 127.0.0.1 that nobody listens on, for a server to start on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class BrowserLikeClient(FlaskClient):
    """A test client that closes each response, as a real server does.

    Closing runs the after-response work (mail delivery) the app schedules.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        response.close()
        return response


def _base_config(database_url: str) -> dict[str, Any]:
    return {
        "APP_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build the schema once per run through the migrations; return its URL."""
    if TEST_DATABASE_URL:
        engine = create_engine(TEST_DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('schema') / 'template.db'}"
    migrate(url)
    return url


def migrate(url: str) -> None:
    """Build the schema of the database at `url` through the migrations."""
    app = create_app(_base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _clean_postgres(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = ", ".join(table.name for table in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> str:
    """A migrated, empty database for this test alone."""
    if TEST_DATABASE_URL:
        return migrated_database
    template = Path(migrated_database.removeprefix("sqlite:///"))
    copy = tmp_path / "test.db"
    shutil.copyfile(template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Settings a test module may override before the app is built."""
    return {}


# app.extensions key: the body of each mail the test's app sent, by the mail's id.
SENT_BODIES = "tests.sent_bodies"


def _record_sent_bodies(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # The outbox empties a mail's body once it is sent; tests read it afterwards,
    # as its recipient would, from what was handed to the mail server or log.
    app.extensions[SENT_BODIES] = {}
    send = mailer._send

    def send_and_record(mail: OutboxMail) -> None:
        body = mail.body
        send(mail)
        current_app.extensions.setdefault(SENT_BODIES, {})[mail.id] = body

    monkeypatch.setattr(mailer, "_send", send_and_record)


def sent_body(app: Flask, mail: OutboxMail) -> str:
    """Return a mail's body: the stored one while unsent, else the one sent.

    A mail another process sent (a served app, a mail worker) has only the
    stored one, empty: read those from its SMTP inbox or log.
    """
    if mail.sent_at is None:
        return mail.body
    body: str = app.extensions.get(SENT_BODIES, {}).get(mail.id, mail.body)
    return body


@pytest.fixture
def app(
    database_url: str, app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """A fresh app on a fresh database.

    No app context stays pushed: each request gets its own, as in production,
    so nothing in `g` leaks from one request into the next. Tests that read the
    database open one with `with app.app_context():`. The body of each mail it
    sends is kept for `sent_body`.
    """
    app = create_app({**_base_config(database_url), **app_config})
    app.register_blueprint(testing_routes)
    app.test_client_class = BrowserLikeClient
    _record_sent_bodies(app, monkeypatch)
    yield app
    if TEST_DATABASE_URL:
        _clean_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client that keeps cookies, like one browser."""
    return app.test_client()


def csrf_from(response: TestResponse) -> str:
    """Read the CSRF token from a page, as a browser submitting its form would."""
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


def submit(
    client: FlaskClient, page: str, data: dict[str, Any], action: str | None = None
) -> TestResponse:
    """Open a page and post its form with the page's CSRF token."""
    token = csrf_from(client.get(page))
    return client.post(action or page, data={**data, "csrf_token": token})


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create users straight in the database (verified and active unless told)."""

    def make(**fields: Any) -> User:
        with app.app_context():
            user: User = UserFactory(**fields)
            db.session.remove()
        return user

    return make


def sign_in(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    remember: bool = False,
) -> TestResponse:
    """Sign in through the login form."""
    data: dict[str, Any] = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return submit(client, "/auth/login", data)


@pytest.fixture
def signed_in(client: FlaskClient, make_user: Callable[..., User]) -> User:
    """A verified user, signed in on `client`."""
    user = make_user()
    response = sign_in(client, user.email)
    assert response.status_code == 302
    return user


@pytest.fixture
def clock_start() -> datetime:
    """Where `clock` holds the time at first; a test module may override it."""
    return datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine: Any, clock_start: datetime) -> Callable[[timedelta], None]:
    """Hold the clock at `clock_start`; calling it moves the clock on by that much."""
    now = [clock_start]
    time_machine.move_to(clock_start, tick=False)

    def move(by: timedelta) -> None:
        now[0] += by
        time_machine.move_to(now[0], tick=False)

    return move


@pytest.fixture
def outbox(app: Flask) -> Callable[[], list[OutboxMail]]:
    """Return the mails queued so far, oldest first, detached.

    Each carries the body it has or was sent with (`sent_body`): the stored row
    of a sent mail has none. Read the table itself to see what it keeps.
    """

    def mails() -> list[OutboxMail]:
        with app.app_context():
            found = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
            db.session.remove()
        for mail in found:
            mail.body = sent_body(app, mail)
        return found

    return mails


class StatementLog:
    """The SQL statements the app ran while it was listening."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(
    app: Flask,
) -> Callable[[], contextlib.AbstractContextManager[StatementLog]]:
    """Count the SQL statements run inside a `with count_queries() as log:` block."""

    @contextlib.contextmanager
    def counting() -> Iterator[StatementLog]:
        log = StatementLog()

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            log.statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield log
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


# Touched by any signed-in page view; not a change a refused form could make.
IGNORED_COLUMNS = frozenset({"last_seen_at"})
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(app: Flask) -> Snapshot:
    """Every row of every table, for proving that nothing changed."""
    state: Snapshot = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in IGNORED_COLUMNS]
            rows = db.session.execute(select(*columns)).all()
            state[table.name] = sorted((tuple(row) for row in rows), key=repr)
        db.session.remove()
    return state


def link_in(body: str) -> str:
    """Return the path of the first link in a mail body."""
    match = LINK_RE.search(body)
    assert match, f"no link in mail: {body!r}"
    return "/" + match.group(0).split("/", 3)[3]
