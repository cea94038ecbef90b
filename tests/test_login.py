"""Sign-in: one answer for every wrong guess, and only local redirects after it."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select

from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind, User
from app.services.passwords import hash_password, needs_rehash, verify_password
from tests.conftest import CSRF_RE, csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD

WRONG = "not the right password"


def stored_user(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.remove()
    return user


def is_signed_in(client):
    return client.get("/users/").status_code == 200


def hidden_next(page):
    match = re.search(r'<input[^>]*name="next"[^>]*>', page)
    assert match, "the sign-in form has no next field"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


def test_sign_in_redirects_home_and_signs_you_in(client, make_user):
    user = make_user(name="Grace Hopper")

    response = sign_in(client, user.email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Hello, Grace Hopper" in client.get("/").get_data(as_text=True)


def test_sign_in_ignores_case_and_spaces_in_the_email(client, make_user):
    make_user(email="grace@example.com")

    response = sign_in(client, "  Grace@Example.COM ")

    assert response.status_code == 302
    assert is_signed_in(client)


def test_sign_in_records_the_time(app, client, make_user, time_machine):
    now = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    user = make_user()

    sign_in(client, user.email)

    assert stored_user(app, user.id).last_login_at == now


def test_failed_sign_in_does_not_record_a_sign_in_time(app, client, make_user):
    user = make_user()

    sign_in(client, user.email, WRONG)

    assert stored_user(app, user.id).last_login_at is None


def normalised(response, typed_email):
    """The page with what differs between two attempts (token, typed e-mail) blanked."""
    page = CSRF_RE.sub(
        'name="csrf_token" value="TOKEN"', response.get_data(as_text=True)
    )
    return page.replace(typed_email, "EMAIL")


def test_unknown_email_and_wrong_password_get_the_same_answer(app, make_user):
    user = make_user()

    unknown = sign_in(app.test_client(), "nobody@example.com", WRONG)
    wrong = sign_in(app.test_client(), user.email, WRONG)

    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong e-mail address or password." in wrong.get_data(as_text=True)
    assert normalised(unknown, "nobody@example.com") == normalised(wrong, user.email)


def test_unknown_email_costs_the_same_argon2_check_as_a_wrong_password(
    app, make_user, monkeypatch
):
    user = make_user()
    checked = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash, password):
        checked.append(extract_parameters(hash))
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)

    sign_in(app.test_client(), "nobody@example.com", WRONG)
    for_unknown = checked[:]
    checked.clear()
    sign_in(app.test_client(), user.email, WRONG)
    for_wrong_password = checked[:]

    assert len(for_unknown) == len(for_wrong_password) == 1
    assert for_unknown == for_wrong_password
    [parameters] = for_unknown
    assert parameters.type is Type.ID
    assert parameters.time_cost == app.config["ARGON2_TIME_COST"]
    assert parameters.memory_cost == app.config["ARGON2_MEMORY_COST"]


@pytest.mark.parametrize(
    "fields",
    [{"email_verified_at": None}, {"is_active": False}],
    ids=["unverified", "inactive"],
)
def test_wrong_password_on_a_special_account_gets_the_generic_answer(
    client, make_user, fields
):
    user = make_user(**fields)

    response = sign_in(client, user.email, WRONG)

    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Wrong e-mail address or password." in page
    assert "verif" not in page.lower()
    assert "deactivated" not in page


def sign_up_unconfirmed(client, email="new@example.com"):
    """Sign up without opening the mailed link."""
    data = {"name": "New Comer", "email": email, "password": PASSWORD}
    data["confirm"] = PASSWORD
    assert submit(client, "/auth/register", data).status_code == 302


def test_a_sign_ups_password_before_its_link_is_opened_offers_a_new_link(app, client):
    sign_up_unconfirmed(client)

    response = sign_in(client, "new@example.com")

    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "not verified yet" in page
    assert 'action="/auth/verify/resend"' in page
    assert 'value="new@example.com"' in page
    assert client.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is None
    assert not is_signed_in(client)


def test_signing_in_with_ones_own_sign_ups_password_tells_nothing_of_the_address(
    app, make_user, monkeypatch
):
    # Sign up with an address, then sign in with the password chosen: an account on
    # the address must not change the answer, its cost or what repeating it does.
    with app.app_context():
        owners_hash = hash_password("the owner's own passphrase")
    make_user(email="held@example.com", password_hash=owners_hash)
    hashes = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash, password):
        hashes.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    answers = {}
    for email, address in [("held@example.com", "1"), ("free@example.com", "2")]:
        attacker = app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = f"198.51.100.{address}"  # own limits
        sign_up_unconfirmed(attacker, email)
        hashes.clear()
        tries = [sign_in(attacker, email) for _ in range(12)]
        answers[email] = (
            [response.status_code for response in tries],
            normalised(tries[0], email),
            len(hashes),
        )

    assert answers["held@example.com"] == answers["free@example.com"]
    assert answers["free@example.com"][0] == [403] * 12  # "not verified yet"
    # nothing written either (a write and commit took the held address 2.5 ms more)
    with app.app_context():
        events = db.session.scalars(select(SecurityEvent.kind)).all()
        db.session.remove()
    assert SecurityEventKind.SIGN_IN_FAILED not in events


def test_resend_form_on_the_sign_in_page_mails_a_working_link(app, client, outbox):
    sign_up_unconfirmed(client)
    refused = sign_in(client, "new@example.com")

    client.post(
        "/auth/verify/resend",
        data={"email": "new@example.com", "csrf_token": csrf_from(refused)},
    )

    _, mail = outbox()
    assert mail.recipient == "new@example.com"
    assert submit(client, link_in(mail.body), {}).status_code == 302
    assert is_signed_in(client)


def test_inactive_account_is_refused(app, client, make_user):
    user = make_user(is_active=False)

    response = sign_in(client, user.email)

    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)
    assert client.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is None
    assert not is_signed_in(client)
    assert stored_user(app, user.id).last_login_at is None


def test_next_path_on_this_site_is_followed(client, make_user):
    user = make_user()

    response = submit(
        client,
        "/auth/login",
        {"email": user.email, "password": PASSWORD, "next": "/users/?page=2"},
    )

    assert response.headers["Location"] == "/users/?page=2"


def test_page_that_asked_for_sign_in_is_where_you_land(client, make_user):
    user = make_user()
    login_page = client.get("/users/?page=2", follow_redirects=True)

    token = csrf_from(login_page)
    response = client.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": hidden_next(login_page.get_data(as_text=True)),
            "csrf_token": token,
        },
    )

    assert response.headers["Location"] == "/users/?page=2"


OPEN_REDIRECTS = [
    "//x",
    "///x",
    "https://x",
    "/\\x",
    "\\\\x",
    "http:x",
    "%2F%2Fx",
    "javascript:alert(1)",
]


def assert_local(location):
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location, location
    assert location == "/", location


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_field_pointing_elsewhere_is_ignored(client, make_user, target):
    user = make_user()

    response = submit(
        client,
        "/auth/login",
        {"email": user.email, "password": PASSWORD, "next": target},
    )

    assert response.status_code == 302
    assert_local(response.headers["Location"])


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_in_the_url_pointing_elsewhere_is_ignored(client, make_user, target):
    user = make_user()
    url = f"/auth/login?next={target}"
    login_page = client.get(url)

    response = client.post(
        url,
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": hidden_next(login_page.get_data(as_text=True)),
            "csrf_token": csrf_from(login_page),
        },
    )

    assert response.status_code == 302
    assert_local(response.headers["Location"])


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_signed_in_visit_with_next_pointing_elsewhere_stays_here(
    client, signed_in, target
):
    response = client.get(f"/auth/login?next={target}")

    assert response.status_code == 302
    assert_local(response.headers["Location"])


def test_signed_in_visit_to_sign_in_page_redirects(client, signed_in):
    response = client.get("/auth/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_rehashes_a_password_hashed_with_old_parameters(app, client, make_user):
    old_hasher = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    old_hash = old_hasher.hash(PASSWORD)
    user = make_user(password_hash=old_hash)

    assert sign_in(client, user.email).status_code == 302

    new_hash = stored_user(app, user.id).password_hash
    assert new_hash != old_hash
    with app.app_context():
        assert verify_password(new_hash, PASSWORD)
        assert not needs_rehash(new_hash)
    assert extract_parameters(new_hash).memory_cost == app.config["ARGON2_MEMORY_COST"]


def test_sign_in_keeps_a_hash_made_with_todays_parameters(app, client, make_user):
    user = make_user()

    sign_in(client, user.email)

    assert stored_user(app, user.id).password_hash == user.password_hash
