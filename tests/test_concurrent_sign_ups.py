"""Fifty people sign up with one address at once, on gunicorn and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import SignUpClaim, User
from tests.conftest import link_in
from tests.processes import Browser, Page
from tests.test_server import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PEOPLE = 50
EMAIL = "grace@example.com"
PASSWORD = "lantern orchard quietly sixteen"


def test_fifty_concurrent_sign_ups_for_one_address_make_one_account(
    app: Flask, database_url: str, tmp_path: Path, outbox: Callable[[], Any]
) -> None:
    # Nobody sends the mail: each stays in the outbox with its link (a sent mail's
    # body is emptied).
    settings = {
        "WEB_CONCURRENCY": "4",
        "FLASK_RATELIMIT_ENABLED": "false",
        "FLASK_MAIL_DELIVERY": "worker",
    }
    with gunicorn(database_url, tmp_path / "gunicorn.log", env=settings) as base:

        def sign_up(n: int) -> Page:
            return Browser().submit(
                f"{base}/auth/register",
                {"name": f"Person {n}", "email": EMAIL, "password": PASSWORD,
                 "confirm": PASSWORD},
            )  # fmt: skip

        with ThreadPoolExecutor(PEOPLE) as pool:
            signed_up = list(pool.map(sign_up, range(PEOPLE)))
        links = [link_in(mail.body) for mail in outbox()]

        def confirm(link: str) -> Page:
            # Another browser than the one that signed up: it types the password.
            return Browser().submit(f"{base}{link}", {"password": PASSWORD})

        with ThreadPoolExecutor(PEOPLE) as pool:
            confirmed = list(pool.map(confirm, links))

    assert [page.url for page in signed_up] == [f"{base}/auth/check-inbox"] * PEOPLE
    assert len(links) == PEOPLE
    assert [page.status for page in confirmed] == [200] * PEOPLE  # no 500
    # One link made the account and signed its browser in; the others were told
    # the address is verified now, and sent to sign in.
    landed = sorted(page.url.removeprefix(base) for page in confirmed)
    assert landed == ["/"] + ["/auth/login"] * (PEOPLE - 1)
    with app.app_context():
        users = db.session.scalars(select(User).where(User.email == EMAIL)).all()
        claims = db.session.scalar(select(func.count()).select_from(SignUpClaim))
        db.session.remove()
    assert len(users) == 1
    assert claims == 0
