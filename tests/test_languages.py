"""Each reader gets their own language: a member's choice, a visitor's browser or menu.

What a page or mail should say is read from the language's catalog (app/translations),
so these tests hold whatever words the translators chose; the English they must not
show is the source's.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import OutboxMail, User
from app.services import accounts
from tests.conftest import said, sign_in, submit
from tests.factories import PASSWORD

Outbox = Callable[[], list[OutboxMail]]
NEW_PASSWORD = "quiet lantern harbour nineteen"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def read(response: TestResponse) -> str:
    """A page's text as its reader reads it (entities such as &#39; undone)."""
    return html.unescape(response.get_data(as_text=True))


def browser(app: Flask, **environ: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(environ)
    return client


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 12, 2, 7, 24, tzinfo=UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LOCKOUT_THRESHOLD": 3}  # a pause after a few wrong passwords


def test_a_member_who_chose_german_reads_german_pages_errors_and_messages(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    member = make_user(language="de")
    sign_in(client, member.email)

    profile = read(client.get("/account/profile"))
    submit(
        client,
        "/account/profile",
        {"name": member.name, "bio": "", "listed": "y", "language": "de"},
    )
    saved = read(client.get("/account/profile"))
    refused = read(
        submit(
            client,
            "/account/password",
            {"current": "not it", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
    )

    assert '<html lang="de" dir="ltr">' in profile
    assert said("de", "Your profile") in profile and "Your profile" not in profile
    assert said("de", "Your profile is saved.") in saved
    assert said("de", "That is not your current password.") in refused
    assert "That is not your current password." not in refused


def test_a_member_who_chose_german_gets_german_mail(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    member = make_user(language="de", name="Grete Weiß")
    owner = browser(app, REMOTE_ADDR="198.51.100.7")
    sign_in(owner, member.email)
    # a new browser: the sign-in alert
    sign_in(
        browser(app, REMOTE_ADDR="203.0.113.66", HTTP_USER_AGENT=CHROME), member.email
    )
    # a reset asked for from an English browser
    submit(browser(app), "/auth/forgot", {"email": member.email})
    # a move to a new address
    submit(
        owner, "/account/email", {"email": "grete@example.net", "password": PASSWORD}
    )
    # wrong passwords from a stranger, until sign-in is paused
    stranger = browser(app, REMOTE_ADDR="192.0.2.9")
    for _ in range(app.config["LOCKOUT_THRESHOLD"] + 1):
        sign_in(stranger, member.email, "not the password")
    before_goodbye = outbox()
    # and goodbye (the account's mails go with it)
    submit(owner, "/account/delete", {"password": PASSWORD})

    subjects = {mail.subject: mail for mail in before_goodbye + outbox()}
    expected = [
        "A new sign-in to your Vestibule account",
        "Reset your password",
        "Confirm your new e-mail address",
        "Sign-in to your account is paused",
        "Your Vestibule account is deleted",
    ]
    assert [said("de", subject) in subjects for subject in expected] == [True] * 5
    greetings = (said("de", "Hello %(name)s,", name=member.name), said("de", "Hello,"))
    for subject in expected:
        # the new address is greeted without a name: it is not known to be theirs
        assert subjects[said("de", subject)].body.startswith(greetings), subject


def test_a_visitor_whose_browser_asks_for_french_gets_french_pages_and_mail(
    app: Flask, outbox: Outbox
) -> None:
    visitor = browser(app, HTTP_ACCEPT_LANGUAGE="fr-CH, fr;q=0.9, en;q=0.5")

    page = read(visitor.get("/auth/register"))
    submit(
        visitor,
        "/auth/register",
        {
            "name": "Amélie Poulain",
            "email": "amelie@example.org",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert '<html lang="fr" dir="ltr">' in page
    assert said("fr", "Create an account") in page
    (mail,) = outbox()
    assert mail.subject == said("fr", "Confirm your e-mail address")


def test_the_footer_menu_switches_a_visitor_to_spanish_and_remembers_it(
    client: FlaskClient,
) -> None:
    page = client.get("/auth/login")
    chosen = submit(
        client, "/auth/login", {"language": "es", "next": "/auth/login"}, "/language"
    )

    later = read(client.get("/auth/register"))

    assert page.status_code == 200 and chosen.status_code in (302, 303)
    assert '<html lang="es" dir="ltr">' in later
    assert said("es", "Create an account") in later


@pytest.mark.parametrize(
    ("code", "zone", "written"),
    [
        ("de", "Europe/Berlin", "2. Dezember 2026, 08:24 CET"),
        ("en", "America/New_York", "2 December 2026, 02:24 EST"),
    ],
)
def test_sessions_and_the_security_log_date_things_in_the_members_language_and_zone(
    app: Flask,
    make_user: Callable[..., User],
    clock: Callable[[timedelta], None],
    code: str,
    zone: str,
    written: str,
) -> None:
    member = make_user(language=code, time_zone=zone, time_zone_chosen=True)
    # remembered: the session is still there three days on, dated
    sign_in(browser(app, REMOTE_ADDR="198.51.100.7"), member.email, remember=True)
    clock(timedelta(days=3))
    reader = browser(app, REMOTE_ADDR="198.51.100.7")
    sign_in(reader, member.email)

    sessions = read(reader.get("/account/sessions"))
    log = read(reader.get("/account/security"))

    assert written in sessions
    assert written in log


def test_a_german_member_is_told_in_german_that_a_zone_is_not_in_the_list(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    member = make_user(language="de")
    sign_in(client, member.email)

    refused = read(
        submit(
            client,
            "/account/profile",
            {"name": member.name, "bio": "", "time_zone": "Mars/Olympus"},
        )
    )

    assert said("de", "Choose your time zone from the list.") in refused
    assert "Choose your time zone from the list." not in refused


def test_the_profile_service_stores_no_language_the_site_does_not_serve(
    app: Flask, make_user: Callable[..., User]
) -> None:
    member = make_user(language="de")
    with app.test_request_context():
        with pytest.raises(accounts.InvalidProfile) as refused:
            accounts.update_profile(
                member.id, name=member.name, bio="", is_listed=True, language="xx"
            )
        assert refused.value.field == "language"
        assert db.session.get_one(User, member.id).language == "de"
