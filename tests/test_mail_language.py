"""Mail in its recipient's language: a member's own, else the page the visitor read.

There are no catalogs yet: a mail's words stay English in every language, but what
Babel writes (dates, lengths of time) shows the language a mail was written in,
and `mailed_in` records the language each mail's template was rendered in.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
import zxcvbn.feedback
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMail, SignUpClaim, User
from app.services import mailer, passwords, sessions
from tests.conftest import link_in, said, sign_in, submit
from tests.factories import PASSWORD

Outbox = Callable[[], list[OutboxMail]]
STRONG = "plum orbit cascade lantern"
NEW_EMAIL = "claude@example.com"


@pytest.fixture
def clock_start() -> datetime:
    # December: "Dezember", "décembre" and "December" tell the languages apart.
    return datetime(2026, 12, 5, 7, 24, tzinfo=UTC)


@pytest.fixture
def mailed_in(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The languages each mail template was rendered in, by template, in order.

    Read where queue_mail renders: inside `force_locale(<language>)`.
    """
    written: dict[str, list[str]] = {}
    template: list[str] = []
    queue_mail, force_locale = mailer.queue_mail, mailer.force_locale

    def queue(recipient: str, subject: str, mail: str, **context: Any) -> None:
        template.append(mail)
        queue_mail(recipient, subject, mail, **context)

    def forced(locale: Any) -> AbstractContextManager[None]:
        written.setdefault(template[-1], []).append(str(locale))
        manager: AbstractContextManager[None] = force_locale(locale)
        return manager

    monkeypatch.setattr(mailer, "queue_mail", queue)
    monkeypatch.setattr(mailer, "force_locale", forced)
    return written


def in_language(client: FlaskClient, code: str) -> FlaskClient:
    """Have the client's pages in `code`, as the footer's menu does (its cookie)."""
    client.set_cookie("vestibule_language", code)
    return client


def sign_up(client: FlaskClient, email: str = NEW_EMAIL) -> None:
    data = {"name": "Claude", "email": email, "password": STRONG, "confirm": STRONG}
    assert submit(client, "/auth/register", data).status_code == 302


def confirm(client: FlaskClient, outbox: Outbox) -> None:
    """Open the link mailed to NEW_EMAIL and confirm, as the browser that signed up."""
    link = link_in(the_mail(outbox, NEW_EMAIL).body)
    assert submit(client, link, {}).status_code == 302


def claim_languages(app: Flask, email: str) -> list[str]:
    with app.app_context():
        found = db.session.scalars(
            select(SignUpClaim.language).where(SignUpClaim.email == email)
        ).all()
        db.session.remove()
    return list(found)


def language_of(app: Flask, email: str) -> str | None:
    with app.app_context():
        language = db.session.scalars(
            select(User.language).where(User.email == email)
        ).one()
        db.session.remove()
    return language


def the_mail(outbox: Outbox, recipient: str) -> OutboxMail:
    (mail,) = [mail for mail in outbox() if mail.recipient == recipient]
    return mail


# -- signing up --------------------------------------------------------------------


def test_a_sign_up_on_a_french_page_is_mailed_in_french_and_its_account_reads_french(
    app: Flask, client: FlaskClient, outbox: Outbox, mailed_in: dict[str, list[str]]
) -> None:
    sign_up(in_language(client, "fr"))

    assert claim_languages(app, NEW_EMAIL) == ["fr"]
    assert mailed_in == {"verify": ["fr"]}
    link = the_mail(outbox, NEW_EMAIL)
    assert "48\u00a0heures" in link.body  # VERIFY_TOKEN_MAX_AGE, as French says it

    confirm(client, outbox)
    assert language_of(app, NEW_EMAIL) == "fr"


def test_a_sign_up_takes_the_browsers_language_when_none_was_picked(
    app: Flask, client: FlaskClient, outbox: Outbox, mailed_in: dict[str, list[str]]
) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr-CH, fr;q=0.9, en;q=0.5"
    sign_up(client)

    assert claim_languages(app, NEW_EMAIL) == ["fr"]
    assert mailed_in == {"verify": ["fr"]}
    confirm(client, outbox)
    assert language_of(app, NEW_EMAIL) == "fr"


def test_a_sign_up_on_an_english_page_makes_an_english_account(
    app: Flask, client: FlaskClient, outbox: Outbox
) -> None:
    sign_up(client)

    confirm(client, outbox)
    assert claim_languages(app, NEW_EMAIL) == []  # gone with the confirmation
    assert language_of(app, NEW_EMAIL) == "en"


def test_a_new_link_for_a_sign_up_is_in_the_sign_ups_language(
    client: FlaskClient, mailed_in: dict[str, list[str]]
) -> None:
    sign_up(in_language(client, "fr"))

    data = {"email": NEW_EMAIL}
    stranger = in_language(client.application.test_client(), "de")
    submit(stranger, "/auth/verify/not-a-token", data, action="/auth/verify/resend")

    assert mailed_in == {"verify": ["fr", "fr"]}


def test_a_stranger_signing_up_with_a_members_address_writes_in_the_members_language(
    client: FlaskClient,
    make_user: Callable[..., User],
    mailed_in: dict[str, list[str]],
) -> None:
    member = make_user(language="de")

    sign_up(in_language(client, "fr"), member.email)

    assert mailed_in == {"already_registered": ["de"]}


# -- mail to a member --------------------------------------------------------------


def test_a_sign_in_alert_is_written_in_the_members_language_and_zone(
    app: Flask,
    make_user: Callable[..., User],
    outbox: Outbox,
    mailed_in: dict[str, list[str]],
    clock: Callable[..., None],
) -> None:
    member = make_user(language="de", time_zone="Europe/Berlin")
    for ip in ("198.51.100.7", "203.0.113.66"):  # the pages are English
        browser = app.test_client()
        browser.environ_base.update(REMOTE_ADDR=ip)
        assert sign_in(browser, member.email).status_code == 302

    assert mailed_in == {"sign_in_alert": ["de"]}
    alert = the_mail(outbox, member.email)
    assert "5. Dezember 2026, 08:24 CET" in alert.body
    assert alert.subject == said("de", "A new sign-in to your Vestibule account")


def test_a_reset_link_is_written_in_the_members_language(
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
    mailed_in: dict[str, list[str]],
) -> None:
    member = make_user(language="de")

    assert submit(client, "/auth/forgot", {"email": member.email}).status_code == 302

    assert mailed_in == {"reset": ["de"]}
    assert "1 Stunde" in the_mail(outbox, member.email).body  # RESET_TOKEN_MAX_AGE


def test_a_member_without_a_language_is_mailed_in_english(
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
    mailed_in: dict[str, list[str]],
) -> None:
    member = make_user()  # from before languages: pages follow the browser

    submit(in_language(client, "de"), "/auth/forgot", {"email": member.email})

    assert mailed_in == {"reset": ["en"]}
    assert "1 hour" in the_mail(outbox, member.email).body


def test_the_goodbye_mail_is_in_the_language_of_the_account_it_follows(
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
    mailed_in: dict[str, list[str]],
) -> None:
    member = make_user(language="de")
    assert sign_in(client, member.email).status_code == 302

    assert submit(client, "/account/delete", {"password": PASSWORD}).status_code == 302

    assert mailed_in == {"account_deleted": ["de"]}
    goodbye = the_mail(outbox, member.email)
    assert goodbye.subject == said("de", "Your Vestibule account is deleted")


def test_moving_to_a_members_address_writes_to_them_in_their_language(
    client: FlaskClient,
    make_user: Callable[..., User],
    mailed_in: dict[str, list[str]],
) -> None:
    mover, holder = make_user(language="fr"), make_user(language="de")
    assert sign_in(client, mover.email).status_code == 302

    data = {"email": holder.email, "password": PASSWORD}
    assert submit(client, "/account/email", data).status_code == 302

    assert mailed_in == {"email_taken": ["de"]}


# -- mail to an address a visitor typed --------------------------------------------


@pytest.mark.parametrize(
    ("language", "header", "expected"),
    [("fr", "", "fr"), ("", "de-AT, de;q=0.8", "de"), ("", "", "en")],
    ids=["picked", "browser", "neither"],
)
def test_mail_to_an_address_with_no_account_follows_the_page(
    client: FlaskClient,
    mailed_in: dict[str, list[str]],
    language: str,
    header: str,
    expected: str,
) -> None:
    if language:
        in_language(client, language)
    if header:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = header

    submit(client, "/auth/forgot", {"email": "nobody@example.com"})
    data = {"email": "nobody@example.com"}
    submit(client, "/auth/verify/not-a-token", data, action="/auth/verify/resend")

    assert mailed_in == {"no_account": [expected], "no_sign_up": [expected]}


# -- what zxcvbn says --------------------------------------------------------------


def zxcvbn_sentences() -> Iterator[str]:
    """Every sentence zxcvbn's feedback module may give, as written in its source."""
    tree = ast.parse(inspect.getsource(zxcvbn.feedback))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_":
            (argument,) = node.args
            sentence = ast.literal_eval(argument)
            assert isinstance(sentence, str)
            yield sentence


def test_every_sentence_of_zxcvbn_is_said_in_the_sites_own_marked_words() -> None:
    sentences = set(zxcvbn_sentences())

    assert len(sentences) > 20
    assert sentences == set(passwords.ZXCVBN_SENTENCES)
    for english, ours in passwords.ZXCVBN_SENTENCES.items():
        assert str(ours) == english  # English stays as zxcvbn wrote it


def test_zxcvbn_feedback_not_known_to_the_site_is_not_shown() -> None:
    said = passwords.guessable_reason(
        "A warning of a newer zxcvbn.",
        ["Avoid sequences.", "A suggestion of a newer zxcvbn."],
    )

    assert said == "This password is too easy to guess. Avoid sequences."


def test_a_guessable_password_is_told_zxcvbns_warning_then_its_suggestions() -> None:
    said = passwords.guessable_reason(
        "This is a top-10 common password.",
        ["Add another word or two. Uncommon words are better."],
    )

    assert said == (
        "This is a top-10 common password. "
        "Add another word or two. Uncommon words are better."
    )


# -- counts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "other", "note"),
    [
        (0, True, ""),
        (1, True, " 1 other session was signed out."),
        (2, True, " 2 other sessions were signed out."),
        (1, False, " 1 session was signed out."),
        (3, False, " 3 sessions were signed out."),
    ],
)
def test_the_note_of_sessions_signed_out_is_unchanged_in_english(
    app: Flask, count: int, other: bool, note: str
) -> None:
    with app.test_request_context():
        assert sessions.signed_out_note(count, other=other) == note
