"""Mail: the outbox, the log in development, a real SMTP server, outages and retries."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from time_machine import TimeMachineFixture

from app.extensions import db
from app.models import OutboxMail, User
from app.models.base import utcnow
from app.services import mailer
from tests.conftest import csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD
from tests.smtp import RefusingInbox, SmtpInbox

BASE_URL = "https://accounts.example.org"
SENDER = "Vestibule <no-reply@accounts.example.org>"
NEW_PASSWORD = "lantern orchard quietly sixteen"
URL_RE = re.compile(r"https?://\S+")

Outbox = Callable[[], list[OutboxMail]]


@pytest.fixture
def smtp_server() -> Iterator[SmtpInbox]:
    """A running SMTP server the app sends to."""
    server = SmtpInbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server_down() -> Iterator[SmtpInbox]:
    """An SMTP server the app sends to, down until the test starts it."""
    server = SmtpInbox()
    yield server
    server.stop()


@pytest.fixture
def smtp_server_refusing() -> Iterator[SmtpInbox]:
    """A running SMTP server that refuses every recipient, naming it."""
    server = RefusingInbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Point the app at the test's SMTP server if it has one, else mail to the log."""
    config: dict[str, Any] = {
        "BASE_URL": BASE_URL,
        "MAIL_DEFAULT_SENDER": SENDER,
        "MAIL_SERVER": None,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
    }
    for name in ("smtp_server", "smtp_server_down", "smtp_server_refusing"):
        if name in request.fixturenames:
            server: SmtpInbox = request.getfixturevalue(name)
            config.update(
                MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False
            )
    return config


def sign_up(client: FlaskClient, email: str = "grace@example.com") -> int:
    response = submit(
        client,
        "/auth/register",
        {
            "name": "Grace Hopper",
            "email": email,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    return response.status_code


def run_worker(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


# --- no MAIL_SERVER: mail goes to the log ---------------------------------------------


def test_without_a_mail_server_mail_is_written_to_the_log(
    client: FlaskClient, outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vestibule.mail")

    assert sign_up(client) == 302

    [mail] = outbox()
    records = [r for r in caplog.records if r.name == "vestibule.mail"]
    assert len(records) == 1
    logged = records[0].getMessage()
    assert "grace@example.com" in logged
    assert "Confirm your e-mail address" in logged
    link = URL_RE.search(mail.body)
    assert link is not None
    assert link.group(0) in logged
    assert mail.sent_at is not None
    assert mail.attempts == 1


def test_every_mail_links_to_base_url(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    member = make_user(email="member@example.com")
    sign_up(client, "newcomer@example.com")  # verify link
    sign_up(client, member.email)  # "someone tried to sign up with your address"
    submit(client, "/auth/forgot", {"email": member.email})  # reset link
    reset_path = link_in(outbox()[-1].body)
    submit(client, reset_path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    mails = outbox()
    assert [mail.subject for mail in mails] == [
        "Confirm your e-mail address",
        "Someone tried to sign up with your address",
        "Reset your password",
        "Your password was reset",
    ]
    for mail in mails:
        links = URL_RE.findall(mail.body)
        assert links, f"no link in {mail.subject!r}"
        for link in links:
            assert link.startswith(BASE_URL + "/"), (mail.subject, link)
            path = "/" + link.split("/", 3)[3].split("?")[0]
            app.url_map.bind("localhost").match(path)  # a page of this site


# --- a real SMTP server ---------------------------------------------------------------


def test_sign_up_mails_a_verify_link_over_smtp_that_signs_you_in(
    app: Flask, client: FlaskClient, smtp_server: SmtpInbox, outbox: Outbox
) -> None:
    assert sign_up(client) == 302

    [message] = smtp_server.messages
    assert message["From"] == SENDER
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Confirm your e-mail address"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "Grace Hopper" not in body  # the address is not proven yet
    [link] = URL_RE.findall(body)
    assert link.startswith(BASE_URL + "/auth/verify/")
    assert outbox()[0].sent_at is not None

    opened = submit(client, link_in(body), {})

    assert opened.status_code == 302
    assert client.get("/account/profile").status_code == 200
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.email_verified_at is not None
        db.session.remove()


def test_smtp_outage_delays_mail_without_failing_the_page_or_losing_it(
    app: Flask,
    client: FlaskClient,
    smtp_server_down: SmtpInbox,
    outbox: Outbox,
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(datetime.now(UTC))

    assert sign_up(client) == 302

    [mail] = outbox()
    assert mail.sent_at is None
    assert mail.attempts == 1
    assert mail.last_error
    assert mail.next_attempt_at > utcnow()

    smtp_server_down.start()
    assert run_worker(app) == "0 mail(s) sent."  # not before its retry time
    assert smtp_server_down.messages == []

    time_machine.shift(timedelta(minutes=3))
    assert run_worker(app) == "1 mail(s) sent."
    assert run_worker(app) == "0 mail(s) sent."

    [message] = smtp_server_down.messages
    assert message["To"] == "grace@example.com"
    assert URL_RE.search(message.get_content())
    [mail] = outbox()
    assert mail.sent_at is not None
    assert mail.attempts == 2


@pytest.mark.parametrize(
    "app_config", [{"MAIL_DELIVERY": "worker", "MAIL_SERVER": None}], ids=["worker"]
)
def test_worker_mode_leaves_mail_to_the_worker(
    app: Flask, client: FlaskClient, outbox: Outbox
) -> None:
    assert sign_up(client) == 302
    assert outbox()[0].sent_at is None

    assert run_worker(app) == "1 mail(s) sent."
    assert outbox()[0].sent_at is not None


@pytest.fixture
def queued_mail(app: Flask, make_user: Callable[..., User]) -> None:
    """One reset mail in the outbox, not yet sent."""
    user = make_user()
    with app.app_context():
        mailer.queue_mail(
            user.email,
            "Reset your password",
            "reset",
            user=user,
            language="en",
            link=BASE_URL,
        )
        db.session.commit()


def test_delivering_twice_sends_a_mail_once(
    app: Flask, smtp_server: SmtpInbox, queued_mail: None
) -> None:
    with app.app_context():
        assert mailer.deliver_due() == 1
        assert mailer.deliver_due() == 0

    assert len(smtp_server.messages) == 1


def test_a_second_sender_running_meanwhile_does_not_send_the_mail_again(
    app: Flask,
    smtp_server: SmtpInbox,
    queued_mail: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    send = mailer._send
    second_sender_sent: list[int] = []

    def send_while_another_sender_runs(mail: OutboxMail) -> None:
        with app.app_context():  # another worker: its own context and session
            second_sender_sent.append(mailer.deliver_due())
        send(mail)

    monkeypatch.setattr(mailer, "_send", send_while_another_sender_runs)
    with app.app_context():
        assert mailer.deliver_due() == 1

    assert second_sender_sent == [0]
    assert len(smtp_server.messages) == 1


def test_a_mail_sent_again_carries_the_same_message_id(
    app: Flask,
    smtp_server: SmtpInbox,
    queued_mail: None,
    make_user: Callable[..., User],
) -> None:
    other = make_user()
    with app.app_context():
        assert mailer.deliver_due() == 1
        # The SMTP server took it but the send was never noted (the sender died
        # before its UPDATE): once its claim lapses the mail is due again.
        db.session.execute(
            update(OutboxMail).values(
                sent_at=None, next_attempt_at=utcnow(), body="Reset your password."
            )
        )
        other = db.session.merge(other)
        mailer.queue_mail(
            other.email, "Another mail", "reset", user=other, language="en", link="x"
        )
        db.session.commit()
        assert mailer.deliver_due() == 2

    first, again, another = smtp_server.messages
    assert (first["Subject"], again["Subject"]) == ("Reset your password",) * 2
    assert again["Message-ID"] == first["Message-ID"]
    assert another["Message-ID"] != first["Message-ID"]
    assert first["Message-ID"].endswith("@accounts.example.org>")


def test_the_worker_logs_each_delivery_by_mail_id_without_address_or_body(
    app: Flask,
    smtp_server: SmtpInbox,
    queued_mail: None,
    outbox: Outbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    assert run_worker(app) == "1 mail(s) sent."

    [mail] = outbox()
    [line] = [r.getMessage() for r in caplog.records if r.name == "vestibule.mail"]
    assert line == f"mail {mail.id} sent, attempt 1"
    logged = logged_by_the_app(caplog)
    assert mail.recipient not in logged
    assert BASE_URL not in logged  # the body's link


def test_password_change_mails_a_notice_over_smtp(
    client: FlaskClient, signed_in: User, smtp_server: SmtpInbox
) -> None:
    response = submit(
        client,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    [message] = smtp_server.messages
    assert message["To"] == signed_in.email
    assert message["Subject"] == "Your password was changed"
    other_browser = client.application.test_client()
    assert sign_in(other_browser, signed_in.email, NEW_PASSWORD).status_code == 302


def exhaust_retries(app: Flask, time_machine: TimeMachineFixture) -> None:
    """Let the worker try every attempt it has, each after its backoff, and fail."""
    for _ in range(app.config["MAIL_MAX_ATTEMPTS"]):
        time_machine.shift(timedelta(hours=7))  # past the longest backoff
        assert run_worker(app) == "0 mail(s) sent."


def test_a_mail_failing_every_attempt_is_kept_logged_once_and_requeued(
    app: Flask,
    client: FlaskClient,
    smtp_server_down: SmtpInbox,
    outbox: Outbox,
    time_machine: TimeMachineFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    time_machine.move_to(datetime.now(UTC))
    assert sign_up(client) == 302
    caplog.set_level(logging.WARNING, logger="vestibule.mail")

    exhaust_retries(app, time_machine)
    time_machine.shift(timedelta(days=2))
    assert run_worker(app) == "0 mail(s) sent."  # given up: no further attempt

    [mail] = outbox()
    assert mail.sent_at is None and mail.attempts == app.config["MAIL_MAX_ATTEMPTS"]
    undelivered = [r for r in caplog.records if "undelivered" in r.getMessage()]
    assert len(undelivered) == 1 and undelivered[0].levelno == logging.ERROR
    smtp_server_down.start()

    result = app.test_cli_runner().invoke(args=["mail", "requeue"])

    assert result.exit_code == 0, result.output
    assert "1 undelivered mail(s) queued again" in result.output
    assert run_worker(app) == "1 mail(s) sent."
    [message] = smtp_server_down.messages
    assert message["To"] == "grace@example.com"


def test_an_admin_sends_an_undelivered_mail_again_from_the_admin_area(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    smtp_server_down: SmtpInbox,
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(datetime.now(UTC))
    assert sign_up(client) == 302
    exhaust_retries(app, time_machine)
    admin = make_user(is_admin=True)
    browser = app.test_client()
    assert sign_in(browser, admin.email).status_code == 302
    page = browser.get("/admin/mail")
    assert "Confirm your e-mail address" in page.get_data(as_text=True)
    assert "grace@example.com" in page.get_data(as_text=True)
    mail_id = int(re.search(r"/admin/mail/(\d+)/requeue", page.get_data(True))[1])
    smtp_server_down.start()

    response = browser.post(
        f"/admin/mail/{mail_id}/requeue", data={"csrf_token": csrf_from(page)}
    )

    assert response.status_code == 302
    assert "Every mail went out" in browser.get("/admin/mail").get_data(True)
    assert run_worker(app) == "1 mail(s) sent."
    assert smtp_server_down.messages[0]["To"] == "grace@example.com"


@pytest.mark.parametrize(
    "app_config",
    [{"APP_ENV": "testing", "MAIL_SERVER": None, "MAIL_TO_LOG": False}],
    ids=["production-like"],
)
def test_without_a_mail_server_production_keeps_mail_out_of_the_log(
    app: Flask,
    queued_mail: None,
    outbox: Outbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vestibule.mail")

    with app.app_context():
        assert mailer.deliver_due() == 0

    [mail] = outbox()
    assert mail.sent_at is None and mail.attempts == 1  # kept, to be tried again
    assert "MAIL_SERVER is not set" in mail.last_error
    assert BASE_URL not in caplog.text  # the mail's link is not in the log


@pytest.mark.postgres
def test_a_sender_passes_over_mail_another_sender_is_claiming(
    app: Flask, make_user: Callable[..., User], smtp_server: SmtpInbox
) -> None:
    import threading

    from sqlalchemy import create_engine, text

    for _ in range(2):
        user = make_user()
        with app.app_context():
            mailer.queue_mail(
                user.email, "Hello", "reset", user=user, language="en", link=BASE_URL
            )
            db.session.commit()
            db.session.remove()
    other_sender = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other_sender.connect() as connection:
        held = connection.execute(
            text("SELECT id FROM outbox_mails ORDER BY id LIMIT 1 FOR UPDATE")
        ).scalar_one()
        sent: list[int] = []

        def deliver() -> None:
            with app.app_context():
                sent.append(mailer.deliver_due())
                db.session.remove()

        sender = threading.Thread(target=deliver)
        sender.start()
        sender.join(timeout=10)  # without SKIP LOCKED it waits for the lock
        finished = not sender.is_alive()
        connection.rollback()
    sender.join()
    other_sender.dispose()

    assert held  # one mail was held by the other sender the whole time
    assert finished and sent == [1]
    assert len(smtp_server.messages) == 1


# --- what the log says about a mail that failed ---------------------------------------


def logged_by_the_app(caplog: pytest.LogCaptureFixture) -> str:
    """Every record but the test SMTP server's own (aiosmtpd's "mail.log")."""
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    return "\n".join(
        handler.format(record)
        for record in caplog.records
        if not record.name.startswith("mail.log")
    )


def test_a_failed_delivery_is_logged_by_mail_id_without_the_address(
    app: Flask,
    client: FlaskClient,
    smtp_server_down: SmtpInbox,
    outbox: Outbox,
    time_machine: TimeMachineFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    time_machine.move_to(datetime.now(UTC))
    caplog.set_level(logging.DEBUG)

    assert sign_up(client) == 302  # the SMTP server is down: a retry is planned
    exhaust_retries(app, time_machine)  # then every attempt fails: undelivered

    assert "grace" not in logged_by_the_app(caplog)
    [mail] = outbox()
    failed = [r for r in caplog.records if r.name == "vestibule.mail"]
    assert failed[0].levelno == logging.WARNING
    assert failed[0].getMessage().startswith(f"mail {mail.id} failed, retry in ")
    assert failed[-1].levelno == logging.ERROR
    assert failed[-1].getMessage().startswith(f"mail {mail.id} undelivered after 8 ")


def test_a_refusal_naming_the_recipient_is_logged_without_the_address(
    app: Flask,
    client: FlaskClient,
    smtp_server_refusing: SmtpInbox,
    outbox: Outbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    assert sign_up(client) == 302

    assert "grace" not in logged_by_the_app(caplog)
    [mail] = outbox()
    assert "grace@example.com" in mail.last_error  # the server's refusal named it
    [line] = [r.getMessage() for r in caplog.records if r.name == "vestibule.mail"]
    assert line.startswith(f"mail {mail.id} failed, retry in ")
    assert "Recipient address rejected" in line and "<address>" in line


# --- what the outbox keeps of a sent mail ---------------------------------------------


def every_text_in_the_database(app: Flask) -> list[tuple[str, str, str]]:
    """Every text value stored, as (table, column, value), read from the tables."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, str) and value:
                        found.append((table.name, column, value))
        db.session.remove()
    return found


def stored_outbox(app: Flask) -> list[dict[str, Any]]:
    """The outbox's rows as the table holds them (the `outbox` fixture adds bodies)."""
    with app.app_context():
        table = OutboxMail.__table__
        rows = [dict(row) for row in db.session.execute(select(table)).mappings()]
        db.session.remove()
    return rows


def test_a_sent_mail_leaves_no_link_in_the_database(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    smtp_server: SmtpInbox,
) -> None:
    # Every kind of mail with a link, each delivered to the real SMTP server.
    assert sign_up(client) == 302  # verify
    member = make_user(email="member@example.com")
    assert submit(client, "/auth/forgot", {"email": member.email}).status_code == 302
    for n in range(app.config["LOCKOUT_THRESHOLD"]):  # unlock, from ten addresses
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"
        assert sign_in(elsewhere, member.email, "wrong password").status_code == 401
    mover = make_user(email="mover@example.com")
    for n, agent in enumerate(("Laptop/1.0", "Phone/2.0")):  # "not me"
        browser = app.test_client()
        browser.environ_base.update(
            HTTP_USER_AGENT=agent, REMOTE_ADDR=f"198.51.100.{n + 1}"
        )
        assert sign_in(browser, mover.email).status_code == 302
    moving = {"email": "moved@example.com", "password": PASSWORD}
    assert submit(browser, "/account/email", moving).status_code == 302  # change
    change = smtp_server.wait_for(
        "moved@example.com", "Confirm your new e-mail address"
    )
    assert submit(browser, link_in(change.get_content()), {}).status_code == 302
    smtp_server.wait_for(  # undo, to the old address
        "mover@example.com", "Your Vestibule account moved to another address"
    )

    links = [
        link
        for message in smtp_server.messages
        for link in URL_RE.findall(message.get_content())
    ]
    paths = {"/auth/verify/", "/auth/reset/", "/auth/unlock/", "/auth/not-me/"}
    paths |= {"/auth/email-change/", "/auth/email-undo/"}
    assert {path for path in paths if any(path in link for link in links)} == paths
    tokens = {link.rsplit("/", 1)[1] for link in links if any(p in link for p in paths)}
    assert all(len(token) > 40 for token in tokens)
    stored = every_text_in_the_database(app)
    for token in tokens:
        assert not [(t, c) for t, c, value in stored if token in value], token
    assert not [(t, c) for t, c, value in stored if BASE_URL in value]
    rows = stored_outbox(app)
    assert len(rows) == len(smtp_server.messages)
    for row in rows:  # what a sent mail keeps
        assert row["body"] == ""
        assert row["sent_at"] is not None
        assert row["recipient"] and row["subject"]
    sent = {(row["recipient"], row["subject"]) for row in rows}
    assert sent == {(m["To"], m["Subject"]) for m in smtp_server.messages}


def test_a_mail_keeps_its_body_until_it_is_sent(
    app: Flask,
    client: FlaskClient,
    smtp_server_down: SmtpInbox,
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(datetime.now(UTC))
    assert sign_up(client) == 302  # the SMTP server is down: not sent

    [waiting] = stored_outbox(app)
    assert "/auth/verify/" in waiting["body"] and waiting["sent_at"] is None

    smtp_server_down.start()
    time_machine.shift(timedelta(minutes=3))
    assert run_worker(app) == "1 mail(s) sent."

    [sent] = stored_outbox(app)
    assert sent["body"] == "" and sent["sent_at"] is not None
    [message] = smtp_server_down.messages
    assert URL_RE.findall(message.get_content()) == URL_RE.findall(waiting["body"])
