"""Abuse protection: limits on sign-in, sign-up and mailed links; proxies; Redis."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from time_machine import TimeMachineFixture
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db, limiter
from app.models import OutboxMail, SignUpClaim, User
from tests.conftest import (
    TEST_REDIS_URL,
    BrowserLikeClient,
    csrf_from,
    link_in,
    sign_in,
    submit,
)
from tests.factories import PASSWORD
from tests.routes import GET_LIMIT
from tests.two_factor import code_for, enrolment_on, recovery_codes_on, secret_on

WRONG_PASSWORD = "not the password at all"
NEW_PASSWORD = "lantern orchard quietly sixteen"
PROXY = "198.51.100.10"
CLOSED_REDIS = "redis://127.0.0.1:1/0"


def post_form(
    client: FlaskClient,
    page: str,
    data: dict[str, Any],
    ip: str = "127.0.0.1",
    forwarded_for: str | None = None,
) -> TestResponse:
    """Open a page and post its form, from a given address (and proxy header)."""
    request: dict[str, Any] = {"environ_base": {"REMOTE_ADDR": ip}}
    if forwarded_for is not None:
        request["headers"] = {"X-Forwarded-For": forwarded_for}
    token = csrf_from(client.get(page, **request))
    return client.post(page, data={**data, "csrf_token": token}, **request)


def fail_sign_in(client: FlaskClient, email: str, **where: Any) -> TestResponse:
    return post_form(
        client, "/auth/login", {"email": email, "password": WRONG_PASSWORD}, **where
    )


def good_sign_in(client: FlaskClient, email: str, **where: Any) -> TestResponse:
    return post_form(
        client, "/auth/login", {"email": email, "password": PASSWORD}, **where
    )


def sign_up(client: FlaskClient, email: str, **where: Any) -> TestResponse:
    data = {
        "name": "Newcomer",
        "email": email,
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    return post_form(client, "/auth/register", data, **where)


def count(app: Flask, model: type) -> int:
    with app.app_context():
        number = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return int(number or 0)


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    return make_user(email="ada@example.com")


@pytest.fixture
def now(time_machine: TimeMachineFixture) -> None:
    """Hold the clock in the test's hands (it still ticks)."""
    time_machine.move_to(datetime.now(UTC))


# --- sign-in -------------------------------------------------------------------------


def test_sixth_failed_sign_in_within_a_minute_is_refused(
    client: FlaskClient, user: User, now: None
) -> None:
    for _ in range(5):
        assert fail_sign_in(client, user.email).status_code == 401

    response = fail_sign_in(client, user.email)

    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    # the sign-in form comes back with the address typed, the wait in words and
    # the way out
    assert "<title>Sign in · Vestibule</title>" in body
    assert '<nav aria-label="Main">' in body
    assert f'value="{user.email}"' in body
    assert "Forgot your password?" in body
    waited = re.search(r"Please try again in (\d+) (second|minute)s?\.", body)
    assert waited, "the page does not say when to retry"
    seconds = int(waited.group(1)) * (60 if waited.group(2) == "minute" else 1)
    assert 0 <= seconds - retry_after < 60


def test_a_refused_sign_in_does_not_say_how_many_tries_are_left(
    client: FlaskClient, user: User, now: None
) -> None:
    responses = [fail_sign_in(client, user.email) for _ in range(6)]

    assert [response.status_code for response in responses] == [401] * 5 + [429]
    for response in responses:
        names = [name.lower() for name, _ in response.headers.items()]
        assert not [name for name in names if name.startswith("x-ratelimit")]


def test_while_limited_even_the_right_password_waits(
    client: FlaskClient, user: User, now: None
) -> None:
    for _ in range(5):
        fail_sign_in(client, user.email)

    response = good_sign_in(client, user.email)

    assert response.status_code == 429
    assert client.get("/account/profile").status_code == 302  # not signed in


def test_sign_in_limit_lifts_after_a_minute(
    client: FlaskClient, user: User, time_machine: TimeMachineFixture, now: None
) -> None:
    for _ in range(5):
        fail_sign_in(client, user.email)
    assert fail_sign_in(client, user.email).status_code == 429

    time_machine.shift(timedelta(seconds=61))

    assert good_sign_in(client, user.email).status_code == 302


def test_successful_sign_ins_do_not_count_against_the_email_limit(
    app: Flask, user: User, now: None
) -> None:
    for attempt in range(10):
        browser = app.test_client()
        response = good_sign_in(browser, user.email)
        assert response.status_code == 302, f"sign-in {attempt + 1} was refused"

    assert fail_sign_in(app.test_client(), user.email).status_code == 401


def test_failures_for_one_email_do_not_lock_out_another(
    client: FlaskClient, user: User, make_user: Callable[..., User], now: None
) -> None:
    other = make_user()
    for _ in range(5):
        fail_sign_in(client, user.email)

    response = good_sign_in(client, other.email)

    assert response.status_code == 302


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_PER_EMAIL": "2 per minute"}], ids=["2 per minute"]
)
def test_sign_in_limit_per_email_is_a_setting(
    client: FlaskClient, user: User, now: None
) -> None:
    assert fail_sign_in(client, user.email).status_code == 401
    assert fail_sign_in(client, user.email).status_code == 401

    assert fail_sign_in(client, user.email).status_code == 429


@pytest.fixture
def site_wide_limit(app: Flask) -> Iterator[None]:
    """An operator's site-wide limit, forgotten after the test.

    The limiter is one object for every app of the process, and keeps the first
    site-wide limit it was given; the suite's later apps must not inherit it.
    """
    yield
    limiter.limit_manager.set_application_limits([])


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_APPLICATION": "2 per minute"}], ids=["2 per minute"]
)
def test_an_operators_site_wide_limit_counts_every_request(
    client: FlaskClient, site_wide_limit: None, now: None
) -> None:
    assert client.get("/auth/login").status_code == 200
    assert client.get("/").status_code == 200

    assert client.get("/auth/login").status_code == 429


def test_a_limit_declared_on_a_get_route_is_enforced(
    client: FlaskClient, now: None
) -> None:
    allowed = int(GET_LIMIT.split()[0])
    for _ in range(allowed):
        assert client.get("/_testing/limited").status_code == 200

    response = client.get("/_testing/limited")

    assert response.status_code == 429
    assert "Retry-After" in response.headers


# --- the client's address, with and without a proxy in front --------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(
    client: FlaskClient, user: User, now: None
) -> None:
    for n in range(5):
        forged = f"203.0.113.{n}"
        assert (
            fail_sign_in(client, user.email, ip=PROXY, forwarded_for=forged).status_code
            == 401
        )

    response = fail_sign_in(client, user.email, ip=PROXY, forwarded_for="203.0.113.99")

    assert response.status_code == 429


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_PER_IP": "3 per minute"}], ids=["3 per minute per IP"]
)
def test_per_ip_limit_ignores_forwarded_for_without_trusted_proxies(
    client: FlaskClient, now: None
) -> None:
    for n in range(3):
        response = fail_sign_in(
            client, f"guess{n}@example.com", ip=PROXY, forwarded_for=f"203.0.113.{n}"
        )
        assert response.status_code == 401

    response = fail_sign_in(
        client, "guess9@example.com", ip=PROXY, forwarded_for="203.0.113.9"
    )

    assert response.status_code == 429


@pytest.mark.parametrize(
    "app_config",
    [{"TRUSTED_PROXIES": 1, "LOGIN_LIMIT_PER_IP": "3 per minute"}],
    ids=["one trusted proxy"],
)
def test_with_a_trusted_proxy_each_forwarded_address_is_its_own_client(
    client: FlaskClient, now: None
) -> None:
    for n in range(3):
        response = fail_sign_in(
            client, f"guess{n}@example.com", ip=PROXY, forwarded_for="203.0.113.1"
        )
        assert response.status_code == 401

    same_client = fail_sign_in(
        client, "guess8@example.com", ip=PROXY, forwarded_for="203.0.113.1"
    )
    other_client = fail_sign_in(
        client, "guess9@example.com", ip=PROXY, forwarded_for="203.0.113.2"
    )

    assert same_client.status_code == 429
    assert other_client.status_code == 401


@pytest.mark.parametrize(
    "app_config", [{"TRUSTED_PROXIES": 1}], ids=["one trusted proxy"]
)
def test_with_a_trusted_proxy_the_email_limit_is_per_forwarded_address(
    client: FlaskClient, user: User, now: None
) -> None:
    for _ in range(5):
        fail_sign_in(client, user.email, ip=PROXY, forwarded_for="203.0.113.1")

    same_client = fail_sign_in(
        client, user.email, ip=PROXY, forwarded_for="203.0.113.1"
    )
    other_client = fail_sign_in(
        client, user.email, ip=PROXY, forwarded_for="203.0.113.2"
    )

    assert same_client.status_code == 429
    assert other_client.status_code == 401


# --- sign-up and mailed links ---------------------------------------------------------


def test_sixth_sign_up_within_an_hour_from_one_address_is_refused(
    app: Flask, client: FlaskClient, time_machine: TimeMachineFixture, now: None
) -> None:
    for n in range(5):
        assert sign_up(client, f"new{n}@example.com").status_code == 302
        time_machine.shift(timedelta(minutes=10))

    refused = sign_up(client, "new5@example.com")
    elsewhere = sign_up(client, "new6@example.com", ip="192.0.2.44")

    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert elsewhere.status_code == 302
    with app.app_context():
        emails = set(db.session.scalars(select(SignUpClaim.email)))
        db.session.remove()
    assert "new5@example.com" not in emails
    assert "new6@example.com" in emails
    page = refused.get_data(as_text=True)
    assert "Please try again in 10 minutes." in page
    assert 'value="new5@example.com"' in page
    assert "Sign in" in page


def test_sign_ups_refused_for_a_typo_do_not_count_against_the_limit(
    app: Flask, client: FlaskClient, now: None
) -> None:
    for n in range(6):
        assert sign_up(client, f"typo{n}@example").status_code == 422

    accepted = [sign_up(client, f"new{n}@example.com").status_code for n in range(5)]

    assert accepted == [302] * 5
    assert count(app, SignUpClaim) == 5


def test_sign_up_posts_of_a_signed_in_member_do_not_count_against_the_limit(
    app: Flask, client: FlaskClient, user: User, now: None
) -> None:
    sign_in(client, user.email)
    data = {"name": "Newcomer", "email": "new@example.com"}
    for _ in range(6):  # sent home, as from the sign-up page itself
        assert submit(client, "/", data, action="/auth/register").status_code == 302

    newcomer = app.test_client()
    accepted = [sign_up(newcomer, f"new{n}@example.com").status_code for n in range(5)]

    assert accepted == [302] * 5
    assert count(app, SignUpClaim) == 5


def test_fourth_reset_request_within_an_hour_for_one_address_is_refused(
    app: Flask,
    client: FlaskClient,
    user: User,
    time_machine: TimeMachineFixture,
    now: None,
) -> None:
    for _ in range(3):
        assert submit(client, "/auth/forgot", {"email": user.email}).status_code == 302

    refused = submit(client, "/auth/forgot", {"email": user.email})
    other_address = submit(client, "/auth/forgot", {"email": "someone@example.com"})

    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert other_address.status_code == 302
    assert count(app, OutboxMail) == 4  # three links and the other address's note

    time_machine.shift(timedelta(hours=1, seconds=1))
    assert submit(client, "/auth/forgot", {"email": user.email}).status_code == 302


def test_fourth_new_verify_link_within_an_hour_for_one_address_is_refused(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], now: None
) -> None:
    ask = {"email": "newcomer@example.com"}
    for _ in range(3):
        response = submit(client, "/auth/login", ask, action="/auth/verify/resend")
        assert response.status_code == 302

    refused = submit(client, "/auth/login", ask, action="/auth/verify/resend")

    assert refused.status_code == 429
    assert count(app, OutboxMail) == 3


def test_one_client_asks_for_ten_mailed_links_an_hour_whatever_the_addresses(
    app: Flask, client: FlaskClient, now: None
) -> None:
    # +tags make as many addresses of one mailbox as anyone wants
    def ask(n: int, action: str) -> int:
        form = {"email": f"victim+{n}@example.com"}
        return submit(client, "/auth/forgot", form, action=action).status_code

    asked = [ask(n, "/auth/forgot") for n in range(6)]
    asked += [ask(n, "/auth/verify/resend") for n in range(6, 12)]
    refused = submit(client, "/auth/forgot", {"email": "victim+12@example.com"})
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    other_client = submit(elsewhere, "/auth/forgot", {"email": "victim+99@example.com"})

    assert asked == [302] * 10 + [429, 429]
    assert "check your inbox for those sent" in refused.get_data(as_text=True)
    assert count(app, OutboxMail) == 11  # ten notes to the mailbox, one for the other
    assert other_client.status_code == 302


def test_junk_posts_for_mailed_links_do_not_use_up_the_clients_limit(
    app: Flask, client: FlaskClient, user: User, now: None
) -> None:
    # ten refused forms (422, no mail) from one client, across both forms
    junk = [
        submit(client, "/auth/forgot", {"email": f"junk{n}"}, action=action).status_code
        for n, action in enumerate(["/auth/forgot", "/auth/verify/resend"] * 5)
    ]

    real = submit(client, "/auth/forgot", {"email": user.email})

    assert junk == [422] * 10
    assert real.status_code == 302
    assert count(app, OutboxMail) == 1


# --- storage: Redis shared by every worker, and Redis down ----------------------------


@pytest.fixture
def build_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build extra app instances, as separate gunicorn workers would."""
    built: list[Flask] = []

    def build(**config: Any) -> Flask:
        app = create_app(
            {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url, **config}
        )
        app.test_client_class = BrowserLikeClient
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def fresh_limiter_state() -> Iterator[None]:
    """Forget that a storage was found dead; the limiter object outlives each app."""
    yield
    limiter._storage_dead = False


@pytest.mark.redis
def test_app_instances_sharing_redis_share_the_count(
    build_app: Callable[..., Flask],
) -> None:
    assert TEST_REDIS_URL
    settings = {
        "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    email = f"{uuid.uuid4().hex}@example.com"  # nothing else in Redis counts for it
    where = {"ip": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    first = build_app(**settings)
    for _ in range(3):
        assert fail_sign_in(first.test_client(), email, **where).status_code == 401

    # Built only now: a count kept in process memory would start again from zero.
    second = build_app(**settings)
    for _ in range(2):
        assert fail_sign_in(second.test_client(), email, **where).status_code == 401
    response = fail_sign_in(second.test_client(), email, **where)

    assert response.status_code == 429
    store = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        assert list(store.scan_iter(match=f"*{email}*"))
    finally:
        store.close()


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_STORAGE_URI": CLOSED_REDIS}], ids=["redis down"]
)
def test_pages_keep_answering_when_redis_is_down(
    client: FlaskClient,
    user: User,
    caplog: pytest.LogCaptureFixture,
    fresh_limiter_state: None,
) -> None:
    caplog.set_level(logging.WARNING)

    assert client.get("/auth/login").status_code == 200
    assert fail_sign_in(client, user.email).status_code == 401
    assert good_sign_in(client, user.email).status_code == 302
    assert any("fall" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_STORAGE_URI": CLOSED_REDIS}], ids=["redis down"]
)
def test_limits_fall_back_to_process_memory_when_redis_is_down(
    client: FlaskClient, user: User, fresh_limiter_state: None, now: None
) -> None:
    for _ in range(5):
        assert fail_sign_in(client, user.email).status_code == 401

    assert fail_sign_in(client, user.email).status_code == 429


# --- forms that check the current password ----------------------------------------


@pytest.mark.parametrize(
    "app_config", [{"ACCOUNT_LIMIT": "3 per hour"}], ids=["3 per hour"]
)
def test_password_guesses_are_counted_across_every_form_that_checks_it(
    client: FlaskClient, user: User, now: None
) -> None:
    assert sign_in(client, user.email).status_code == 302
    wrong = "not the password"
    new = "lantern orchard quietly sixteen"
    guesses = [
        ("/account/password", {"current": wrong, "password": new, "confirm": new}),
        ("/account/email", {"email": "elsewhere@example.com", "password": wrong}),
        ("/account/delete", {"password": wrong}),
    ]
    for page, data in guesses:
        assert submit(client, page, data).status_code == 422

    refused = submit(client, "/account/delete", {"password": PASSWORD})

    assert refused.status_code == 429
    assert "Too many password attempts." in refused.get_data(as_text=True)


# --- the owner is never the one refused -------------------------------------------


def settings_sitting(client: FlaskClient) -> list[int]:
    """A member sets up their account in one sitting, three typos of the password
    on the way: three e-mail changes, two password changes, two-factor on, new
    recovery codes three times, their data downloaded. Returns each status."""
    new, newer = NEW_PASSWORD, "quiet harbour lantern nineteen"
    posts = [
        ("/account/email", {"email": "a@example.org", "password": "typo"}),
        ("/account/email", {"email": "a@example.org", "password": PASSWORD}),
        ("/account/email", {"email": "b@example.org", "password": PASSWORD}),
        ("/account/email", {"email": "c@example.org", "password": PASSWORD}),
        ("/account/password", {"current": "typo", "password": new, "confirm": new}),
        ("/account/password", {"current": PASSWORD, "password": new, "confirm": new}),
        ("/account/password", {"current": new, "password": newer, "confirm": newer}),
    ]
    answers = [submit(client, page, data) for page, data in posts]
    page = client.get("/account/two-factor")
    enrol = {"enrolment": enrolment_on(page), "code": code_for(secret_on(page))}
    answers.append(submit(client, "/account/two-factor", {**enrol, "password": "z"}))
    turned_on = submit(client, "/account/two-factor", {**enrol, "password": newer})
    answers.append(turned_on)
    code = recovery_codes_on(turned_on)[0]
    for _ in range(3):  # each time with a recovery code of the newest set
        renewed = submit(
            client,
            "/account/two-factor",
            {"password": newer, "code": code},
            action="/account/two-factor/recovery-codes",
        )
        answers.append(renewed)
        code = recovery_codes_on(renewed)[0]
    answers.append(client.get("/account/export"))
    return [answer.status_code for answer in answers]


def test_a_settings_sitting_with_three_typos_is_never_refused(
    client: FlaskClient, user: User, now: None
) -> None:
    # Twelve posts to the forms that check the password (ACCOUNT_LIMIT is 10 wrong
    # answers an hour): only the three wrong passwords count.
    assert sign_in(client, user.email).status_code == 302

    statuses = settings_sitting(client)

    assert statuses == [422, 302, 302, 302, 422, 302, 302, 422, 200, 200, 200, 200, 200]


def test_a_right_password_after_nine_wrong_ones_is_taken_and_not_counted(
    client: FlaskClient, user: User, now: None
) -> None:
    assert sign_in(client, user.email).status_code == 302
    for _ in range(9):
        assert (
            submit(client, "/account/delete", {"password": "wrong"}).status_code == 422
        )
    new = NEW_PASSWORD
    right = {"current": PASSWORD, "password": new, "confirm": new}

    changed = submit(client, "/account/password", right)
    again = submit(
        client,
        "/account/password",
        {"current": new, "password": PASSWORD, "confirm": PASSWORD},
    )

    assert changed.status_code == again.status_code == 302


def test_eleven_wrong_passwords_are_refused_and_the_right_one_works_after_the_wait(
    client: FlaskClient, user: User, time_machine: TimeMachineFixture, now: None
) -> None:
    assert sign_in(client, user.email).status_code == 302
    statuses = [
        submit(client, "/account/delete", {"password": "wrong"}).status_code
        for _ in range(10)
    ]

    eleventh = submit(client, "/account/delete", {"password": "wrong"})
    right_too_soon = submit(client, "/account/delete", {"password": PASSWORD})
    time_machine.shift(timedelta(minutes=61))
    right_after_the_wait = submit(client, "/account/delete", {"password": PASSWORD})

    assert statuses == [422] * 10
    assert eleventh.status_code == right_too_soon.status_code == 429
    assert "Too many password attempts. Please try again in 1 hour." in (
        eleventh.get_data(as_text=True)
    )
    assert right_after_the_wait.status_code == 302
    assert count(client.application, User) == 0  # the account is deleted


@pytest.mark.parametrize(
    "app_config", [{"RESET_LIMIT": "2 per hour"}], ids=["2 per hour"]
)
def test_completed_resets_from_one_address_do_not_use_up_the_reset_limit(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Any
) -> None:
    # An office behind one address: each member's own reset is a right answer.
    emails = [f"member{number}@example.com" for number in range(3)]
    for email in emails:
        make_user(email=email)
        assert post_form(client, "/auth/forgot", {"email": email}).status_code == 302
    links = [link_in(mail.body) for mail in outbox() if "reset" in mail.subject.lower()]
    assert len(links) == 3
    new = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}

    statuses = [submit(client, link, new).status_code for link in links]

    assert statuses == [302, 302, 302]


@pytest.mark.parametrize(
    "app_config", [{"RESET_LIMIT": "2 per hour"}], ids=["2 per hour"]
)
def test_reset_forms_refused_for_a_weak_password_still_count(
    client: FlaskClient, user: User, outbox: Any
) -> None:
    assert post_form(client, "/auth/forgot", {"email": user.email}).status_code == 302
    (mail,) = [mail for mail in outbox() if "reset" in mail.subject.lower()]
    path = link_in(mail.body)
    weak = {"password": "password", "confirm": "password"}

    statuses = [submit(client, path, weak).status_code for _ in range(3)]

    assert statuses == [422, 422, 429]


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_PER_IP": "2 per minute"}], ids=["2 per minute"]
)
def test_sign_ups_confirmed_from_one_address_do_not_use_up_its_limit(
    app: Flask, outbox: Any, now: None
) -> None:
    # Three people behind one address each open their link in another browser
    # and type their password, right: none is a guess.
    statuses = []
    for number in range(3):
        email = f"newcomer{number}@example.com"
        sign_up(BrowserLikeClient(app), email)
        (mail,) = [mail for mail in outbox() if mail.recipient == email]
        other_browser = BrowserLikeClient(app)
        confirmed = submit(
            other_browser, link_in(mail.body), {"password": NEW_PASSWORD}
        )
        statuses.append(confirmed.status_code)

    assert statuses == [302, 302, 302]


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_LIMIT_PER_IP": "2 per minute"}], ids=["2 per minute"]
)
def test_wrong_passwords_for_a_sign_up_link_count(
    app: Flask, outbox: Any, now: None
) -> None:
    sign_up(BrowserLikeClient(app), "newcomer@example.com")
    (mail,) = outbox()
    stranger = BrowserLikeClient(app)
    guesses = [
        submit(stranger, link_in(mail.body), {"password": f"guess {n}"}).status_code
        for n in range(3)
    ]

    assert guesses == [422, 422, 429]
