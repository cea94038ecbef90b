"""The preloaded server: workers forked from a loaded app, each with its own state."""

from __future__ import annotations

import http.cookiejar
import json
import re
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import CSRF_RE, link_in
from tests.processes import wait_until
from tests.test_server import gunicorn

PASSWORD = "lantern orchard quietly sixteen"
VERIFY_LINK_RE = re.compile(r"https?://\S+/auth/verify/\S+")
pytestmark = pytest.mark.slow

# Vestibule's app, as gunicorn.conf.py preloads it, with what a test needs to see
# inside the workers. The master opens a database connection while loading, as a
# start-up check might, so each worker has one in its pool unless the pools were
# renewed after the fork.
PRELOADED = """
import os

from sqlalchemy import event, select, text

from app.extensions import db, limiter
from wsgi import app

with app.app_context():
    engine = db.engine


@event.listens_for(engine, "connect")
def _note_process(dbapi_connection, record):
    record.info["connected_in"] = os.getpid()


with app.app_context():
    db.session.execute(text("SELECT 1"))
    db.session.remove()  # back to the pool, still open
MASTER_STORAGE = limiter.storage


@app.get("/test/process")
def process():
    connection = db.session.connection()
    connection.execute(select(1))
    return {
        "pid": os.getpid(),
        "connected_in": connection.connection.info["connected_in"],
        "inherited_limiter_storage": limiter.storage is MASTER_STORAGE,
    }
"""


@pytest.fixture
def preloaded(app: Flask, database_url: str, tmp_path: Path) -> Iterator[str]:
    """Serve PRELOADED through gunicorn.conf.py on the test's database.

    With 2 sync worker processes, as production may run (WEB_CONCURRENCY and
    GUNICORN_WORKER_CLASS), so that the test sees two processes forked.
    """
    (tmp_path / "preloaded.py").write_text(PRELOADED)
    log = tmp_path / "gunicorn.log"
    processes = {"WEB_CONCURRENCY": "2", "GUNICORN_WORKER_CLASS": "sync"}
    with gunicorn(
        database_url, log, "preloaded:app", str(tmp_path), env=processes
    ) as base:
        yield base


def test_each_worker_has_its_own_connections_and_limits(preloaded: str) -> None:
    # A request left unfinished holds one sync worker, so the next goes to the other.
    host, port = urllib.parse.urlsplit(preloaded).netloc.split(":")
    with socket.create_connection((host, int(port))) as held:
        held.sendall(b"GET /test/process HTTP/1.1\r\nHost: test\r\n")
        with urllib.request.urlopen(f"{preloaded}/test/process") as answer:  # noqa: S310
            second = json.load(answer)
        held.sendall(b"Connection: close\r\n\r\n")
        first = json.loads(_read_body(held))

    assert first["pid"] != second["pid"]
    for worker in (first, second):
        assert worker["connected_in"] == worker["pid"]
        assert not worker["inherited_limiter_storage"]


def test_the_preloaded_site_signs_up_verifies_and_signs_in(
    preloaded: str, tmp_path: Path
) -> None:
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    post_form(
        browser,
        f"{preloaded}/auth/register",
        {
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    # Without MAIL_SERVER the mail is written to the log, sent after the response
    # (the outbox keeps no body once sent).
    log = tmp_path / "gunicorn.log"
    wait_until(lambda: VERIFY_LINK_RE.search(log.read_text()), "the mail in the log")
    link = VERIFY_LINK_RE.search(log.read_text())
    assert link is not None
    confirmed = post_form(browser, preloaded + link_in(link.group(0)), {})
    assert confirmed.geturl() == f"{preloaded}/"
    post_form(browser, f"{preloaded}/auth/logout", {}, page="/")

    signed_in = post_form(
        browser,
        f"{preloaded}/auth/login",
        {"email": "grace@example.com", "password": PASSWORD},
    )

    assert signed_in.geturl() == f"{preloaded}/"
    assert "Grace Hopper" in signed_in.read().decode()


def post_form(
    browser: urllib.request.OpenerDirector,
    url: str,
    fields: dict[str, str],
    page: str | None = None,
) -> Any:
    """Open the page holding the form (`url` unless `page`), post it, follow on."""
    shown = url if page is None else urllib.parse.urljoin(url, page)
    token = CSRF_RE.search(browser.open(shown).read().decode())
    assert token, f"no CSRF token on {shown}"
    body = urllib.parse.urlencode({"csrf_token": token.group(1), **fields})
    return browser.open(url, body.encode())


def _read_body(connection: socket.socket) -> str:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    response = b"".join(chunks).decode()
    head, _, body = response.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), head
    return body
