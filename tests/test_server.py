"""The site as `make run` serves it: gunicorn, its settings, optimized workers."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import SignUpClaim
from tests.conftest import CSRF_RE, free_port
from tests.processes import Browser, wait_until

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "lantern orchard quietly sixteen"
VERIFY_LINK_RE = re.compile(r"https?://\S+/auth/verify/\S+")
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def gunicorn(
    database_url: str,
    log: Path,
    target: str = "wsgi:app",
    pythonpath: str = ".",
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run gunicorn as the Makefile's `run` does, on `database_url`; yield its URL.

    `target` is the WSGI app, found on `pythonpath` (relative to the repository);
    `env` adds environment variables. Gunicorn's access and error logs and the
    app's log go to `log`.
    """
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONOPTIMIZE": "2",
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **(env or {}),
    }
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - arguments from the tests
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "--pythonpath",
                pythonpath,
                target,
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
        )
    # the address `make run` tells a newcomer to open, and mailed links use
    base = f"http://localhost:{port}"
    try:
        for _ in range(150):
            if process.poll() is not None:
                pytest.fail(f"gunicorn stopped:\n{log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer within 15 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def server(app: Flask, database_url: str, tmp_path: Path) -> Iterator[str]:
    """Start gunicorn as the Makefile's `run` does, on the test's database.

    It asks for `app` so that the database is cleaned only after gunicorn stopped.
    """
    with gunicorn(database_url, tmp_path / "gunicorn.log") as base:
        yield base


def test_the_served_site_takes_a_sign_up(server: str, app: Flask) -> None:
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = browser.open(f"{server}/auth/register").read().decode()
    token = CSRF_RE.search(page)
    assert token, "the sign-up page has no CSRF token"
    form = {
        "csrf_token": token.group(1),
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "password": "lantern orchard quietly sixteen",
        "confirm": "lantern orchard quietly sixteen",
    }

    answer = browser.open(
        f"{server}/auth/register", urllib.parse.urlencode(form).encode()
    )

    assert answer.geturl() == f"{server}/auth/check-inbox"
    with app.app_context():
        emails = list(db.session.scalars(select(SignUpClaim.email)))
    assert emails == ["grace@example.com"]


def test_wrong_sign_ins_past_the_limit_are_refused_every_time_after(
    server: str,
) -> None:
    # One worker process counts the limit (5 failed sign-ins a minute per address)
    # for the whole site: two counting alone let some through as "Wrong e-mail or
    # password" between their refusals.
    browser = Browser()
    answers = [
        browser.submit(
            f"{server}/auth/login",
            {"email": "grace@example.com", "password": "not the password"},
        )
        for _ in range(12)
    ]

    assert [page.status for page in answers] == [401] * 5 + [429] * 7
    assert all("Too many sign-in attempts" in page.text for page in answers[5:])


def test_mailed_links_follow_the_port_the_server_is_bound_to(
    server: str, tmp_path: Path
) -> None:
    # BASE_URL is unset: the server runs on a free port (PORT), not 8000.
    browser = Browser()
    browser.submit(
        f"{server}/auth/register",
        {"name": "Grace Hopper", "email": "grace@example.com",
         "password": PASSWORD, "confirm": PASSWORD},
    )  # fmt: skip
    log = tmp_path / "gunicorn.log"
    wait_until(lambda: VERIFY_LINK_RE.search(log.read_text()), "the mail in the log")
    found = VERIFY_LINK_RE.search(log.read_text())
    assert found is not None
    link = found.group(0)
    assert link.startswith(f"{server}/auth/verify/")
    assert f"Open the site at {server}" in log.read_text()  # where make run says

    confirmed = browser.submit(link, {})

    assert confirmed.url == f"{server}/"
    assert "Grace Hopper" in confirmed.text
