"""A sign-in commits once: its session, alert, time zone and failure count together.

Counted with SQLAlchemy's `after_commit` event of `db.session` during the post
alone. Mail goes out by the worker here, so the outbox's own commits after the
response are not counted as the sign-in's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import OutboxMail, SignInLockout, User, UserSession
from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD
from tests.two_factor import code_for, turn_on

SECOND_STEP = "/auth/two-factor"
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"MAIL_DELIVERY": "worker"}


@contextlib.contextmanager
def counting_commits() -> Iterator[list[Session]]:
    """Collect the sessions committed inside the block, one entry per commit."""
    commits: list[Session] = []

    def count(session: Session) -> None:
        commits.append(session)

    event.listen(db.session, "after_commit", count)
    try:
        yield commits
    finally:
        event.remove(db.session, "after_commit", count)


def post_counting_commits(
    client: FlaskClient, page: str, data: dict[str, Any]
) -> tuple[TestResponse, int]:
    """Post the page's form; return the response and how many commits the post made."""
    token = csrf_from(client.get(page))
    with counting_commits() as commits:
        response = client.post(page, data={**data, "csrf_token": token})
    return response, len(commits)


def password_post(client: FlaskClient, email: str) -> tuple[TestResponse, int]:
    data = {"email": email, "password": PASSWORD, "time_zone": "Asia/Tokyo"}
    return post_counting_commits(client, "/auth/login", data)


@pytest.fixture
def member(
    app: Flask, make_user: Callable[..., User], clock: Callable[[timedelta], None]
) -> tuple[User, str, list[str]]:
    """A member with two-factor on: them, the secret and the recovery codes."""
    user = make_user()
    browser = app.test_client()
    assert sign_in(browser, user.email).status_code == 302
    secret, codes = turn_on(browser)
    clock(timedelta(minutes=1))  # the app shows a code not used yet
    return user, secret, codes


def test_a_sign_in_without_a_second_step_commits_once(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user()
    assert sign_in(app.test_client(), user.email).status_code == 302  # a known browser
    assert sign_in(app.test_client(), user.email, "a wrong guess").status_code == 401
    elsewhere = app.test_client()
    elsewhere.environ_base.update(REMOTE_ADDR="203.0.113.66", HTTP_USER_AGENT=FIREFOX)

    response, commits = password_post(elsewhere, user.email)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert commits == 1
    # and that one commit held the session, the alert, the zone and the count's end
    with app.app_context():
        assert len(db.session.scalars(select(UserSession)).all()) == 2
        assert db.session.get_one(User, user.id).time_zone == "Asia/Tokyo"
        assert db.session.get(SignInLockout, user.email) is None
        subjects = db.session.scalars(select(OutboxMail.subject)).all()
        assert "A new sign-in to your Vestibule account" in subjects
        db.session.remove()


def test_a_sign_in_with_a_second_step_commits_at_most_once_then_once(
    app: Flask, member: tuple[User, str, list[str]]
) -> None:
    user, secret, _ = member
    browser = app.test_client()

    password, password_commits = password_post(browser, user.email)
    code, code_commits = post_counting_commits(
        browser, SECOND_STEP, {"code": code_for(secret)}
    )

    assert password.headers["Location"].endswith(SECOND_STEP)
    assert password_commits <= 1
    assert code.status_code == 302 and code.headers["Location"] == "/"
    assert code_commits == 1


def test_a_second_step_with_a_recovery_code_commits_once(
    app: Flask, member: tuple[User, str, list[str]]
) -> None:
    user, _, codes = member
    browser = app.test_client()
    assert sign_in(browser, user.email).headers["Location"].endswith(SECOND_STEP)

    response, commits = post_counting_commits(browser, SECOND_STEP, {"code": codes[0]})

    assert response.status_code == 302
    assert commits == 1


def test_a_trusted_browser_skipping_the_second_step_commits_once(
    app: Flask, member: tuple[User, str, list[str]], clock: Callable[[timedelta], None]
) -> None:
    user, secret, _ = member
    laptop = app.test_client()
    assert sign_in(laptop, user.email).headers["Location"].endswith(SECOND_STEP)
    data = {"code": code_for(secret), "trust": "y"}
    assert post_counting_commits(laptop, SECOND_STEP, data)[0].status_code == 302
    token = csrf_from(laptop.get("/"))
    assert laptop.post("/auth/logout", data={"csrf_token": token}).status_code == 302

    response, commits = password_post(laptop, user.email)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert commits == 1
