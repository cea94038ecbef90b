"""Outages of the servers the site needs, met by real processes.

PostgreSQL, Redis and the SMTP server are the test's own, stopped and started
again while gunicorn or the mail workers run.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import OutboxMail, User
from app.models.base import utcnow
from app.services import mailer
from tests.conftest import _base_config, migrate, snapshot
from tests.factories import PASSWORD, UserFactory
from tests.processes import (
    WAIT,
    Browser,
    PrivatePostgres,
    mail_worker,
    private_postgres,
    private_redis,
    wait_until,
)
from tests.smtp import SmtpInbox
from tests.test_server import gunicorn

pytestmark = pytest.mark.slow

NEW_PASSWORD = "lantern orchard quietly sixteen"
UNAVAILABLE = "Temporarily unavailable"


def workers_booted(log: Path) -> int:
    """How many workers gunicorn started so far (a replaced worker counts again)."""
    return log.read_text().count("Booting worker with pid")


def sign_up(browser: Browser, base: str, email: str) -> None:
    page = browser.submit(
        f"{base}/auth/register",
        {"name": "Grace Hopper", "email": email, "password": NEW_PASSWORD,
         "confirm": NEW_PASSWORD},
    )  # fmt: skip
    assert page.url == f"{base}/auth/check-inbox", page.text


def smtp_settings(inbox: SmtpInbox) -> dict[str, str]:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(inbox.port),
        "MAIL_USE_TLS": "false",
    }


# --- PostgreSQL -----------------------------------------------------------------


def test_while_postgres_is_down_pages_answer_503_and_the_same_server_recovers(
    tmp_path: Path,
) -> None:
    with private_postgres() as cluster:
        migrate(cluster.url)
        site = create_app(_base_config(cluster.url))
        with site.app_context():
            user: User = UserFactory()
            db.session.remove()
        log = tmp_path / "gunicorn.log"
        # One worker: the one that met the outage is the one asked after it. (A
        # worker that slept through it spends its first request after on finding
        # its connections dead: app/database.py, ping_after_idle.)
        with gunicorn(cluster.url, log, env={"WEB_CONCURRENCY": "1"}) as base:
            browser = Browser()
            signed_in = browser.submit(
                f"{base}/auth/login", {"email": user.email, "password": PASSWORD}
            )
            assert signed_in.url == f"{base}/"
            committed = snapshot(site)
            with site.app_context():
                db.engine.dispose()  # the test's own connections die with the server
            booted = workers_booted(log)

            pages = (f"{base}/account/profile", f"{base}/readyz")

            cluster.stop()
            during = [browser.open(page) for page in pages]
            cluster.start()
            after = [browser.open(page) for page in pages]

            assert [page.status for page in during] == [503, 503]
            assert UNAVAILABLE in during[0].text  # the site's error page
            assert json.loads(during[1].text)["failed"] == ["database"]
            assert [page.status for page in after] == [200, 200]
            assert user.name in after[0].text  # still signed in: the session is kept
            assert workers_booted(log) == booted  # no worker was replaced
        assert snapshot(site) == committed
        with site.app_context():
            db.engine.dispose()


# --- Redis ----------------------------------------------------------------------

FALLING_BACK = "falling back to in-memory storage"
RECOVERED = "Rate limit storage recovered"


def test_while_redis_is_down_pages_answer_and_the_shared_count_resumes_after(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
) -> None:
    user = make_user()
    with private_redis(tmp_path) as store:
        # Two servers of one worker each: which process counted what is known.
        shared = {
            "RATELIMIT_STORAGE_URI": store.url,
            "WEB_CONCURRENCY": "1",
            "FLASK_LOGIN_LIMIT_PER_EMAIL": "5 per hour",  # a slow run stays inside
        }
        log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
        with (
            gunicorn(database_url, log_a, env=shared) as a,
            gunicorn(database_url, log_b, env=shared) as b,
        ):
            browser = Browser()

            def fail_sign_in(base: str) -> int:
                wrong = {"email": user.email, "password": "not the password"}
                return browser.submit(f"{base}/auth/login", wrong).status

            assert [fail_sign_in(a), fail_sign_in(a)] == [401, 401]  # counted in Redis

            store.stop()
            down = [browser.open(f"{a}{path}").status for path in ("/", "/auth/login")]
            down += [fail_sign_in(a), fail_sign_in(a)]  # counted in A's memory
            assert down == [200, 200, 401, 401]
            assert log_a.read_text().count(FALLING_BACK) == 1

            store.start()  # with the count it saved on stopping

            def a_found_redis() -> bool:
                browser.open(f"{a}/auth/register")  # a limited page looks at Redis
                return RECOVERED in log_a.read_text()

            wait_until(a_found_redis, "server A to use Redis again")
            # 2 failures before, 3 now: the limit (5) is reached only if A counts
            # in Redis again, with B, from where the count was before the outage.
            after = [fail_sign_in(b), fail_sign_in(a), fail_sign_in(b)]
            assert after == [401, 401, 401]
            assert fail_sign_in(b) == 429
            assert fail_sign_in(a) == 429
        assert log_a.read_text().count(FALLING_BACK) == 1
        assert FALLING_BACK not in log_b.read_text()


def test_a_redis_that_stops_answering_does_not_hold_a_sign_in_for_long(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
) -> None:
    user = make_user()
    with private_redis(tmp_path) as store:
        log = tmp_path / "gunicorn.log"
        # gunicorn replaces a worker held this long and its request fails: a sign-in
        # that waited on Redis for the client's default 5 s a command took 10 s.
        env = {
            "RATELIMIT_STORAGE_URI": store.url,
            "WEB_CONCURRENCY": "1",
            "GUNICORN_TIMEOUT": "8",
        }
        with gunicorn(database_url, log, env=env) as base:
            browser = Browser()
            wrong = {"email": user.email, "password": "not the password"}
            assert browser.submit(f"{base}/auth/login", wrong).status == 401
            booted = workers_booted(log)

            store.pause()  # its port still takes connections; nothing answers
            try:
                hung = [
                    browser.open(f"{base}/auth/register").status,
                    browser.submit(f"{base}/auth/login", wrong).status,
                ]
            finally:
                store.resume()

            assert hung == [200, 401]
            assert log.read_text().count(FALLING_BACK) == 1
            assert "WORKER TIMEOUT" not in log.read_text()
            assert workers_booted(log) == booted


# --- the SMTP server and the mail workers ---------------------------------------


def mails_due_now(app: Flask) -> None:
    """Bring every unsent mail's retry time to now.

    A mail's first retry waits minutes (mailer.deliver_due): the clock moves for
    the mails rather than the test waiting.
    """
    with app.app_context():
        db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.sent_at.is_(None))
            .values(next_attempt_at=utcnow())
        )
        db.session.commit()
        db.session.remove()


def test_two_mail_workers_deliver_each_mail_once_after_an_smtp_outage(
    app: Flask, database_url: str, tmp_path: Path, outbox: Callable[[], Any]
) -> None:
    inbox = SmtpInbox()  # down until started below
    mail = {**smtp_settings(inbox), "FLASK_MAIL_DELIVERY": "worker"}
    emails = [f"new{n}@example.com" for n in range(3)]
    try:
        with gunicorn(database_url, tmp_path / "gunicorn.log", env=mail) as base:
            for email in emails:
                sign_up(Browser(), base, email)
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        with (
            mail_worker(database_url, logs[0], mail) as first,
            mail_worker(database_url, logs[1], mail) as second,
        ):
            wait_until(
                lambda: all(m.last_error for m in outbox()),
                "the workers to try every mail while the SMTP server is down",
            )
            inbox.start()
            mails_due_now(app)
            wait_until(
                lambda: all(m.sent_at for m in outbox()), "every mail to be sent"
            )
            for worker in (first, second):
                assert worker.poll() is None  # both rode the outage out
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=WAIT) == 0
    finally:
        inbox.stop()

    assert sorted(message["To"] for message in inbox.messages) == emails
    assert [m.attempts for m in outbox()] == [2, 2, 2]
    for log in logs:
        assert "mail worker: started, looking at the outbox every" in log.read_text()
        assert "mail worker: stopped" in log.read_text()


def test_a_mail_worker_waits_out_a_database_outage(tmp_path: Path) -> None:
    inbox = SmtpInbox()
    inbox.start()
    log = tmp_path / "worker.log"
    try:
        with private_postgres() as cluster:
            migrate(cluster.url)
            site = create_app(_base_config(cluster.url))

            def queue(subject: str) -> None:
                with site.app_context():
                    mailer.queue_mail(
                        "grace@example.com", subject, "verify", language="en", link="x"
                    )
                    db.session.commit()
                    db.engine.dispose()

            def noted_as_sent() -> bool:
                with site.app_context():
                    sent = db.session.scalar(select(OutboxMail.sent_at))
                    db.session.remove()
                    db.engine.dispose()
                return sent is not None

            with mail_worker(cluster.url, log, smtp_settings(inbox)) as worker:
                queue("Before")
                inbox.wait_for("grace@example.com", "Before")
                # An outage between a send and its note has a test of its own (a
                # send the database could not note): here the worker meets the
                # outage while it waits for mail.
                wait_until(noted_as_sent, "the worker to note the mail as sent")

                cluster.stop()
                wait_until(
                    lambda: "database error" in log.read_text(),
                    "the worker to meet the outage",
                )
                cluster.start()
                queue("After")

                inbox.wait_for("grace@example.com", "After")
                assert worker.poll() is None
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=WAIT) == 0
    finally:
        inbox.stop()
    assert [m["Subject"] for m in inbox.messages] == ["Before", "After"]


def test_sigterm_stops_a_mail_worker_after_the_mail_in_hand(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    make_user: Callable[..., User],
    outbox: Callable[[], Any],
) -> None:
    user = make_user()
    with app.app_context():
        for subject in ("In hand", "Next"):
            mailer.queue_mail(
                user.email, subject, "reset", user=user, language="en", link="x"
            )
        db.session.commit()
        db.session.remove()
    inbox = SmtpInbox()
    inbox.start()
    inbox.hold()
    try:
        log = tmp_path / "worker.log"
        with mail_worker(database_url, log, smtp_settings(inbox)) as worker:
            assert inbox.in_hand.wait(WAIT), "the worker sent nothing"
            # Sent while the worker waits for the server's answer to the mail's data.
            worker.send_signal(signal.SIGTERM)
            inbox.release()
            assert worker.wait(timeout=WAIT) == 0
    finally:
        inbox.stop()

    assert [m["Subject"] for m in inbox.messages] == ["In hand"]
    in_hand, following = outbox()
    assert in_hand.sent_at is not None
    assert following.sent_at is None and following.attempts == 0


class DatabaseStopsAtTheFirstMail(SmtpInbox):
    """An SMTP server that stops PostgreSQL as the first mail comes, then takes it.

    At each later mail it notes whether the outbox held the first as sent by then.
    """

    def __init__(self, cluster: PrivatePostgres, site: Flask) -> None:
        super().__init__()
        self.cluster = cluster
        self.site = site
        self.first_noted_at_next: list[bool] = []

    async def handle_DATA(  # the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        await asyncio.to_thread(self._before_taking)
        return await super().handle_DATA(server, session, envelope)

    def _before_taking(self) -> None:
        if not self.messages:
            self.cluster.stop()
            return
        with self.site.app_context():
            first = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))
            self.first_noted_at_next.append(first.first().sent_at is not None)  # type: ignore[union-attr]
            db.session.remove()
            db.engine.dispose()


def test_a_send_the_database_could_not_note_is_noted_before_the_next_mail(
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    with private_postgres() as cluster:
        migrate(cluster.url)
        site = create_app(_base_config(cluster.url))
        with site.app_context():
            for subject in ("First", "Second"):
                mailer.queue_mail(
                    "grace@example.com", subject, "verify", language="en", link="x"
                )
            db.session.commit()
            db.engine.dispose()
        inbox = DatabaseStopsAtTheFirstMail(cluster, site)
        inbox.start()
        try:
            with mail_worker(cluster.url, log, smtp_settings(inbox)) as worker:
                # The SMTP server took the first mail; the database went down before
                # the worker could note it as sent.
                wait_until(
                    lambda: (
                        "mail 1 sent" in log.read_text() and "failed" in log.read_text()
                    ),
                    "the worker to fail to note the first mail",
                )
                cluster.start()
                wait_until(lambda: len(inbox.messages) == 2, "the second mail")
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=WAIT) == 0
        finally:
            inbox.stop()
        with site.app_context():
            mails = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
            db.session.remove()
            db.engine.dispose()

    assert [m["Subject"] for m in inbox.messages] == ["First", "Second"]
    assert inbox.first_noted_at_next == [True]
    assert [(m.sent_at is not None, m.attempts) for m in mails] == [(True, 1)] * 2
