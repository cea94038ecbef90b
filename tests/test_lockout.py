"""Lockout: failed sign-ins for one address brake guessing, never keep the owner out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SecurityEvent, SignInLockout
from tests.conftest import csrf_from, link_in, submit
from tests.factories import PASSWORD

START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
WRONG = "not the password at all"


@pytest.fixture
def now(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def attempt(app, email, password, n=0):
    """Sign in from a client of its own, each from another address (any IP counts)."""
    client = app.test_client()
    page = client.get("/auth/login")
    return client.post(
        "/auth/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page)},
        environ_base={"REMOTE_ADDR": f"127.0.{n // 250}.{n % 250 + 1}"},
    )


def page_without(response, email):
    """The page's text less what differs by nature: the address typed, the token."""
    page = response.get_data(as_text=True)
    return page.replace(email, "").replace(csrf_from(response), "")


def fail(app, email, times, start=0):
    for n in range(start, start + times):
        assert attempt(app, email, WRONG, n).status_code == 401


def test_ten_failures_lock_the_address_for_a_minute_even_for_the_right_password(
    app, make_user, now
):
    user = make_user()
    fail(app, user.email, 10)

    refused = attempt(app, user.email, PASSWORD, 50)

    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "try again in 1 minute" in page
    assert "Forgot your password?" in page
    assert f'value="{user.email}"' in page
    assert int(refused.headers["Retry-After"]) == 60
    now.shift(timedelta(seconds=61))
    assert attempt(app, user.email, PASSWORD, 51).status_code == 302


def test_the_wait_doubles_with_each_further_failure_up_to_fifteen_minutes(
    app, make_user, now
):
    user = make_user()
    fail(app, user.email, 10)
    waits = []
    for n in range(5):
        now.shift(timedelta(minutes=16))
        assert attempt(app, user.email, WRONG, 20 + n).status_code == 401
        waits.append(
            int(attempt(app, user.email, PASSWORD, 40 + n).headers["Retry-After"])
        )

    assert waits == [120, 240, 480, 900, 900]


def test_nine_failures_do_not_lock_and_a_right_password_starts_the_count_again(
    app, make_user, now
):
    user = make_user()
    fail(app, user.email, 9)
    assert attempt(app, user.email, PASSWORD, 30).status_code == 302

    fail(app, user.email, 9, start=31)

    assert attempt(app, user.email, PASSWORD, 60).status_code == 302


def test_an_address_without_an_account_locks_the_same_way(app, make_user, now):
    user = make_user()
    fail(app, user.email, 10)
    fail(app, "nobody@example.com", 10, start=10)

    known = attempt(app, user.email, WRONG, 30)
    unknown = attempt(app, "nobody@example.com", WRONG, 31)

    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]
    assert page_without(known, user.email) == page_without(
        unknown, "nobody@example.com"
    )


def test_the_owner_gets_one_mail_and_sees_the_lockout_in_the_security_log(
    app, make_user, outbox, now
):
    user = make_user()
    fail(app, user.email, 10)
    for n in range(3):  # locked again after each, but mailed only once
        now.shift(timedelta(minutes=16))
        fail(app, user.email, 1, start=10 + n)

    [mail] = outbox()
    assert mail.recipient == user.email
    assert "/auth/unlock/" in mail.body
    with app.app_context():
        kinds = db.session.scalars(
            select(SecurityEvent.kind).where(SecurityEvent.user_id == user.id)
        ).all()
        db.session.remove()
    assert kinds.count("lockout") == 1
    assert kinds.count("sign_in_failed") == 13


def test_it_was_me_link_unlocks_once_and_a_get_changes_nothing(
    app, make_user, outbox, now
):
    user = make_user()
    fail(app, user.email, 10)
    link = link_in(outbox()[0].body)
    owner = app.test_client()

    shown = owner.get(link)
    assert shown.status_code == 200
    assert attempt(app, user.email, PASSWORD, 40).status_code == 429

    unlocked = submit(owner, link, {})
    again = owner.get(link)

    assert unlocked.status_code == 302
    assert attempt(app, user.email, PASSWORD, 41).status_code == 302
    assert again.status_code == 400


def move_account(client, outbox, to):
    """Move the account signed in on `client` to `to`, through its pages."""
    data = {"email": to, "password": PASSWORD}
    assert submit(client, "/account/email", data).status_code == 302
    change = [m for m in outbox() if m.recipient == to][-1]
    assert submit(client, link_in(change.body), {}).status_code == 302


@pytest.mark.parametrize("moves", ["away", "away and back"])
def test_an_unlock_link_dies_once_the_account_leaves_the_address(
    app, make_user, outbox, now, moves
):
    user = make_user()
    owner = app.test_client()
    signed_in = submit(
        owner, "/auth/login", {"email": user.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    fail(app, user.email, 10)
    link = link_in(outbox()[0].body)

    move_account(owner, outbox, "ada.new@example.com")
    if moves == "away and back":
        move_account(owner, outbox, user.email)

    stranger = app.test_client()
    assert stranger.get(link).status_code == 400
    token = csrf_from(stranger.get("/auth/login"))
    assert stranger.post(link, data={"csrf_token": token}).status_code == 400
    assert attempt(app, user.email, WRONG, 60).status_code == 429  # still locked


def test_an_unlock_link_dies_once_the_password_is_replaced(app, make_user, outbox, now):
    user = make_user()
    owner, thief = app.test_client(), app.test_client()
    thief.environ_base.update(REMOTE_ADDR="203.0.113.66", HTTP_USER_AGENT="Thief/1.0")
    for client in (owner, thief):  # the thief's sign-in mails a "not me" link
        login = {"email": user.email, "password": PASSWORD}
        assert submit(client, "/auth/login", login).status_code == 302
    fail(app, user.email, 10)
    by_subject = {mail.subject: link_in(mail.body) for mail in outbox()}
    not_me = by_subject["A new sign-in to your Vestibule account"]
    unlock = by_subject["Sign-in to your account is paused"]

    assert submit(owner, not_me, {}).status_code == 302  # the password is replaced

    assert app.test_client().get(unlock).status_code == 400


def test_an_unlock_link_dies_with_its_lockout_when_a_newer_one_is_mailed(
    app, make_user, outbox, now
):
    user = make_user()
    fail(app, user.email, 10)
    first = link_in(outbox()[0].body)
    now.shift(timedelta(days=1, minutes=1))  # the failures are forgotten
    fail(app, user.email, 10, start=10)
    second = link_in(outbox()[-1].body)
    assert second != first

    assert app.test_client().get(first).status_code == 400
    assert submit(app.test_client(), second, {}).status_code == 302
    assert attempt(app, user.email, PASSWORD, 40).status_code == 302


def test_a_completed_password_reset_ends_the_lockout(app, make_user, outbox, now):
    user = make_user()
    fail(app, user.email, 10)
    owner = app.test_client()
    submit(owner, "/auth/forgot", {"email": user.email})
    reset_link = link_in(outbox()[-1].body)
    new_password = "velvet harbour quince meadow"

    submit(owner, reset_link, {"password": new_password, "confirm": new_password})

    assert attempt(app, user.email, new_password, 40).status_code == 302


def test_lockouts_are_stored_where_an_admin_can_list_them(app, make_user, now):
    user = make_user()
    fail(app, user.email, 10)

    with app.app_context():
        [lockout] = db.session.scalars(select(SignInLockout)).all()
        db.session.remove()
    assert lockout.email == user.email
    assert lockout.locked_until is not None


@pytest.mark.postgres
def test_wrong_passwords_arriving_at_once_are_each_counted_and_mailed_once(
    app, make_user, outbox
):
    # Counting a failure used to read the row, then insert it: two at once both
    # inserted, and one ended in a 500 (and was not counted).
    import threading

    user = make_user()
    browsers = []
    for n in range(12):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        browsers.append((browser, csrf_from(browser.get("/auth/login"))))
    start = threading.Barrier(len(browsers))
    statuses = []

    def guess(browser, token):
        start.wait()
        answer = browser.post(
            "/auth/login",
            data={
                "email": user.email,
                "password": "a wrong guess",
                "csrf_token": token,
            },
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 500 not in statuses and statuses.count(401) >= 10, statuses
    with app.app_context():
        lockout = db.session.get(SignInLockout, user.email)
        assert lockout is not None and lockout.failures == statuses.count(401)
        db.session.remove()
    paused = [m for m in outbox() if m.subject == "Sign-in to your account is paused"]
    assert len(paused) == 1


def test_after_unlocking_the_sign_in_form_has_the_address(app, make_user, outbox, now):
    user = make_user(email="ada@example.com")
    fail(app, user.email, 10)
    owner = app.test_client()

    unlocked = submit(owner, link_in(outbox()[0].body), {})

    page = owner.get(unlocked.headers["Location"]).get_data(as_text=True)
    assert re.search(r'<input[^>]*id="email"[^>]*value="ada@example.com"', page)
