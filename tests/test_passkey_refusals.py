"""Passkey answers the site refuses: each said plainly, none signing anyone in.

A refused answer leaves every table as it was but for its challenge, which is
used up whatever the answer: `only_the_challenge_is_gone` compares every row of
every table (tests/conftest.py `snapshot`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, select
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import PasskeyChallenge, SecurityEvent, SignInLockout, User
from tests.authenticator import Authenticator, b64url, unb64url
from tests.conftest import Snapshot, csrf_from, sign_in, snapshot
from tests.factories import PASSWORD
from tests.passkeys import (
    Member,
    member_with_passkey,
    post_second_step,
    post_sign_in,
    registration_options,
    second_step_options,
    sign_in_options,
    sign_in_with_passkey,
    stored_passkeys,
    turn_on_two_factor,
    waiting_challenges,
    with_state_of,
)

MakeUser = Callable[..., User]

CHALLENGE_GONE = "This passkey request expired or was already used. Please try again."
REFUSED = "Your passkey's answer could not be checked. Please try again"
UNKNOWN = "This passkey does not belong to an account here, or not to this account."
CLONED = "This passkey was refused: its counter went back"
DEACTIVATED = "This account has been deactivated."
NOT_ANSWERED = "Your browser sent no passkey."


def words_of(response: TestResponse) -> str:
    """The page as its reader sees its words (entities such as &#39; read)."""
    return html.unescape(response.get_data(as_text=True))


def signed_in_on(client: FlaskClient) -> bool:
    return client.get("/account/profile").status_code == 200


def only_the_challenge_is_gone(app: Flask, before: Snapshot) -> None:
    """Every table is as it was, but that the ceremony's challenge was used up."""
    after = snapshot(app)
    assert after.pop("passkey_challenges") == []
    before = {**before}
    before.pop("passkey_challenges")
    assert after == before


def events_of(app: Flask, user: User) -> list[str]:
    with app.app_context():
        kinds = list(
            db.session.scalars(
                select(SecurityEvent.kind)
                .where(SecurityEvent.user_id == user.id)
                .order_by(SecurityEvent.id)
            )
        )
        db.session.remove()
    return kinds


def user_handle_of(app: Flask, user: User) -> bytes:
    with app.app_context():
        handle = db.session.get_one(User, user.id).passkey_user_handle
        db.session.remove()
    assert handle is not None
    return handle


def pending_second_step(app: Flask, user: User) -> FlaskClient:
    """A new browser whose sign-in to `user` waits for its second step."""
    browser = app.test_client()
    response = sign_in(browser, user.email)
    assert response.headers["Location"].endswith("/auth/two-factor")
    return browser


def post_new_passkey(client: FlaskClient, credential: str) -> TestResponse:
    """Post a new passkey's answer to the passkeys page, as its script does."""
    token = csrf_from(client.get("/account/passkeys"))
    return client.post(
        "/account/passkeys",
        data={"csrf_token": token, "name": "My laptop", "credential": credential},
    )


def creation_options(client: FlaskClient) -> dict[str, Any]:
    answer = registration_options(client)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    options: dict[str, Any] = answer.get_json()["options"]
    return options


@pytest.fixture
def member(app: Flask, make_user: MakeUser) -> Member:
    """A member with a passkey whose authenticator keeps no counter (a synced one).

    A refusal of these tests is then never the counter's doing: each answer
    signs with 0, as the first did.
    """
    return member_with_passkey(
        app, make_user, authenticator=Authenticator(counting=False)
    )


# -- used once, by the browser that asked, for the ceremony it asked for ------------


def test_an_answer_posted_again_is_refused_though_it_signed_in_the_first_time(
    app: Flask, member: Member
) -> None:
    browser = app.test_client()
    answer = member.authenticator.get(sign_in_options(browser))
    # the whole post captured, state cookie and all, before it is sent
    replayer = with_state_of(app, browser)
    assert post_sign_in(browser, answer).status_code == 302
    assert signed_in_on(browser)
    before = snapshot(app)

    again = post_sign_in(replayer, answer)

    assert again.status_code == 401
    assert CHALLENGE_GONE in words_of(again)
    assert not signed_in_on(replayer)
    only_the_challenge_is_gone(app, before)


def test_of_two_posts_of_one_answer_at_once_only_one_goes_on(
    app: Flask, member: Member
) -> None:
    browser = app.test_client()
    answer = member.authenticator.get(sign_in_options(browser))
    replayer = with_state_of(app, browser)
    with app.app_context():
        engine = db.engine
    taken_first: list[str] = []

    def the_other_post_takes_it_first(
        conn: Any, cursor: Any, statement: str, *args: Any
    ) -> None:
        # As the replay's request takes the challenge, the browser's own post,
        # a moment ahead of it (past any read it made), takes it first.
        if statement.startswith("DELETE FROM passkey_challenges") and not taken_first:
            taken_first.append(statement)
            with engine.begin() as other:
                other.execute(delete(PasskeyChallenge))

    event.listen(engine, "before_cursor_execute", the_other_post_takes_it_first)
    try:
        response = post_sign_in(replayer, answer)
    finally:
        event.remove(engine, "before_cursor_execute", the_other_post_takes_it_first)

    assert taken_first
    assert response.status_code == 401
    assert CHALLENGE_GONE in words_of(response)
    assert not signed_in_on(replayer)


def test_an_answer_to_another_browsers_challenge_is_refused(
    app: Flask, member: Member
) -> None:
    asking = app.test_client()
    options = sign_in_options(asking)
    other = app.test_client()
    before = snapshot(app)

    response = post_sign_in(other, member.authenticator.get(options))

    assert response.status_code == 401
    assert CHALLENGE_GONE in words_of(response)
    assert not signed_in_on(other)
    assert snapshot(app) == before  # the asking browser's challenge still waits
    assert post_sign_in(asking, member.authenticator.get(options)).status_code == 302


def test_an_answer_to_another_browsers_challenge_fails_this_browsers_own_too(
    app: Flask, member: Member
) -> None:
    asking = app.test_client()
    options = sign_in_options(asking)
    other = app.test_client()
    sign_in_options(other)  # a challenge of its own, which the answer did not sign
    before = snapshot(app)

    response = post_sign_in(other, member.authenticator.get(options))

    assert response.status_code == 401
    assert CHALLENGE_GONE in words_of(response)
    assert not signed_in_on(other)
    after = snapshot(app)
    assert len(after["passkey_challenges"]) == 1  # the asking browser's
    assert {**after, "passkey_challenges": []} == {**before, "passkey_challenges": []}


def test_a_second_step_challenge_does_not_sign_in_on_its_own(
    app: Flask, member: Member
) -> None:
    turn_on_two_factor(app, member.user)
    browser = pending_second_step(app, member.user)
    options = second_step_options(browser)
    before = snapshot(app)

    response = post_sign_in(browser, member.authenticator.get(options))

    assert response.status_code == 401
    assert CHALLENGE_GONE in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_sign_in_challenge_does_not_pass_a_second_step(
    app: Flask, member: Member
) -> None:
    turn_on_two_factor(app, member.user)
    browser = pending_second_step(app, member.user)
    options = sign_in_options(browser)
    before = snapshot(app)

    response = post_second_step(browser, member.authenticator.get(options))

    assert response.status_code == 401
    assert CHALLENGE_GONE in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_registration_challenge_of_another_session_adds_no_passkey(
    app: Flask, make_user: MakeUser
) -> None:
    user = make_user()
    asking, other = app.test_client(), app.test_client()
    for browser in (asking, other):
        assert sign_in(browser, user.email).status_code == 302
    options = creation_options(asking)
    # the other session, signed in to the same account, holds the asking key
    cookie = asking.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value)
    before = snapshot(app)

    response = post_new_passkey(other, Authenticator().create(options))

    assert response.status_code == 422
    assert CHALLENGE_GONE in words_of(response)
    only_the_challenge_is_gone(app, before)
    assert stored_passkeys(app, user) == []


# -- made for this site, by the account's own passkey, with the member there --------


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "https://vestibule.example.net"},
        {"origin": "http://localhost:8080"},
        {"origin": "https://localhost"},
        {"rp_id": "example.net"},
        {"rp_id": "sub.localhost"},
    ],
    ids=["other-site", "other-port", "other-scheme", "other-rp-id", "rp-id-under"],
)
def test_a_sign_in_answer_made_for_another_site_is_refused(
    app: Flask, member: Member, bend: dict[str, str]
) -> None:
    browser = app.test_client()
    options = sign_in_options(browser)
    before = snapshot(app)

    response = post_sign_in(browser, member.authenticator.get(options, **bend))

    assert response.status_code == 401
    assert REFUSED in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


@pytest.mark.parametrize(
    "bend",
    [{"origin": "https://vestibule.example.net"}, {"rp_id": "example.net"}],
    ids=["other-origin", "other-rp-id"],
)
def test_a_passkey_made_for_another_site_is_not_added(
    app: Flask, client: FlaskClient, signed_in: User, bend: dict[str, str]
) -> None:
    options = creation_options(client)
    before = snapshot(app)

    response = post_new_passkey(client, Authenticator().create(options, **bend))

    assert response.status_code == 422
    assert REFUSED in words_of(response)
    only_the_challenge_is_gone(app, before)


@pytest.mark.parametrize("handle", ["own", "none"])
def test_another_accounts_passkey_does_not_pass_the_second_step(
    app: Flask, make_user: MakeUser, member: Member, handle: str
) -> None:
    # Someone who knows B's password and has a passkey of their own account (A)
    other = make_user()
    turn_on_two_factor(app, other)
    browser = pending_second_step(app, other)
    options = second_step_options(browser)
    before = snapshot(app)

    answer = member.authenticator.get(
        options,
        credential=member.authenticator.credentials[0],
        without_user_handle=handle == "none",
    )
    response = post_second_step(browser, answer)

    assert response.status_code == 401
    assert UNKNOWN in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


@pytest.mark.parametrize("handle", ["another-account", "no-account", "none"])
def test_a_user_handle_that_is_not_the_passkeys_account_signs_nobody_in(
    app: Flask, make_user: MakeUser, member: Member, handle: str
) -> None:
    other = member_with_passkey(app, make_user)
    bend: dict[str, Any] = {
        "another-account": {"user_handle": user_handle_of(app, other.user)},
        "no-account": {"user_handle": b"\x07" * 64},
        "none": {"without_user_handle": True},
    }[handle]
    browser = app.test_client()
    options = sign_in_options(browser)
    before = snapshot(app)

    response = post_sign_in(browser, member.authenticator.get(options, **bend))

    assert response.status_code == 401
    assert UNKNOWN in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_sign_in_without_user_verification_is_refused(
    app: Flask, member: Member
) -> None:
    browser = app.test_client()
    options = sign_in_options(browser)
    before = snapshot(app)

    response = post_sign_in(
        browser, member.authenticator.get(options, user_verified=False)
    )

    assert response.status_code == 401
    assert REFUSED in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_second_step_without_user_verification_is_refused(
    app: Flask, member: Member
) -> None:
    turn_on_two_factor(app, member.user)
    browser = pending_second_step(app, member.user)
    options = second_step_options(browser)
    before = snapshot(app)

    response = post_second_step(
        browser, member.authenticator.get(options, user_verified=False)
    )

    assert response.status_code == 401
    assert REFUSED in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_passkey_made_without_user_verification_is_not_added(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    options = creation_options(client)
    before = snapshot(app)

    response = post_new_passkey(
        client, Authenticator().create(options, user_verified=False)
    )

    assert response.status_code == 422
    assert REFUSED in words_of(response)
    only_the_challenge_is_gone(app, before)


# -- five minutes --------------------------------------------------------------------


def test_an_answer_within_five_minutes_signs_in(
    app: Flask, member: Member, clock: Callable[[timedelta], None]
) -> None:
    browser = app.test_client()
    options = sign_in_options(browser)
    clock(timedelta(minutes=4, seconds=59))

    response = post_sign_in(browser, member.authenticator.get(options))

    assert response.status_code == 302
    assert signed_in_on(browser)


def test_an_answer_after_five_minutes_is_refused(
    app: Flask, member: Member, clock: Callable[[timedelta], None]
) -> None:
    browser = app.test_client()
    options = sign_in_options(browser)
    clock(timedelta(minutes=5, seconds=1))
    before = snapshot(app)

    response = post_sign_in(browser, member.authenticator.get(options))

    assert response.status_code == 401
    assert CHALLENGE_GONE in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_new_passkey_after_five_minutes_is_not_added(
    app: Flask,
    client: FlaskClient,
    signed_in: User,
    clock: Callable[[timedelta], None],
) -> None:
    options = creation_options(client)
    clock(timedelta(minutes=5, seconds=1))
    before = snapshot(app)

    response = post_new_passkey(client, Authenticator().create(options))

    assert response.status_code == 422
    assert CHALLENGE_GONE in words_of(response)
    only_the_challenge_is_gone(app, before)


# -- the signature counter -----------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2])
def test_a_counter_that_went_back_is_refused_logged_and_not_stored(
    app: Flask, make_user: MakeUser, count: int
) -> None:
    owner = member_with_passkey(app, make_user)  # a device that counts its uses
    for _ in range(2):
        assert (
            sign_in_with_passkey(app.test_client(), owner.authenticator).status_code
            == 302
        )
    [passkey] = stored_passkeys(app, owner.user)
    assert passkey.sign_count == 2
    copy = app.test_client()
    options = sign_in_options(copy)
    before = snapshot(app)

    response = post_sign_in(copy, owner.authenticator.get(options, sign_count=count))

    assert response.status_code == 401
    assert CLONED in words_of(response)
    assert not signed_in_on(copy)
    assert events_of(app, owner.user)[-1] == "passkey_clone_suspected"
    [after] = stored_passkeys(app, owner.user)
    assert (after.sign_count, after.last_used_at) == (2, passkey.last_used_at)
    log = words_of(owner.browser.get("/account/security"))
    assert "Refused a passkey sign-in: the passkey's counter went back" in log
    changed = snapshot(app)
    assert changed.pop("passkey_challenges") == []
    assert len(changed.pop("security_events")) == len(before.pop("security_events")) + 1
    before.pop("passkey_challenges")
    assert changed == before


def test_a_passkey_that_keeps_no_counter_signs_in_again_and_again(
    app: Flask, member: Member
) -> None:
    for _ in range(3):
        browser = app.test_client()
        assert sign_in_with_passkey(browser, member.authenticator).status_code == 302
        assert signed_in_on(browser)
    assert "passkey_clone_suspected" not in events_of(app, member.user)


# -- the account -----------------------------------------------------------------------


def test_a_deactivated_accounts_passkey_gets_403_and_no_session(
    app: Flask, member: Member
) -> None:
    with app.app_context():
        db.session.get_one(User, member.user.id).is_active = False
        db.session.commit()
        db.session.remove()
    browser = app.test_client()
    options = sign_in_options(browser)
    before = snapshot(app)

    response = post_sign_in(browser, member.authenticator.get(options))

    assert response.status_code == 403
    assert DEACTIVATED in words_of(response)
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


def test_a_passkey_signs_in_while_wrong_passwords_lock_the_address_and_ends_it(
    app: Flask, member: Member
) -> None:
    email = member.user.email
    for n in range(10):  # guessed from ten addresses, under every per-IP limit
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        assert sign_in(guesser, email, "a wrong guess, again").status_code == 401
    assert sign_in(app.test_client(), email).status_code == 429  # even the right one

    browser = app.test_client()
    response = sign_in_with_passkey(browser, member.authenticator)

    assert response.status_code == 302
    assert signed_in_on(browser)
    with app.app_context():
        left = db.session.scalars(
            select(SignInLockout).where(SignInLockout.email == email)
        ).all()
        db.session.remove()
    assert left == []
    assert sign_in(app.test_client(), email, PASSWORD).status_code == 302


# -- what is no answer at all ----------------------------------------------------------


def answer_bent(answer: str, **response: Any) -> str:
    """A real answer with some of its response's fields replaced."""
    data = json.loads(answer)
    data["response"].update(response)
    return json.dumps(data)


def client_data_of(answer: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        unb64url(json.loads(answer)["response"]["clientDataJSON"])
    )
    return data


GARBAGE: dict[str, Callable[[str], str]] = {
    "not-json": lambda answer: "this is not JSON",
    "empty-object": lambda answer: "{}",
    "a-list": lambda answer: "[1, 2, 3]",
    "null": lambda answer: "null",
    "a-string": lambda answer: json.dumps(answer),
    "ids-not-text": lambda answer: '{"id": 5, "rawId": [], "response": {}}',
    "deeply-nested": lambda answer: "[" * 5000 + "]" * 5000,
    "nested-in-an-object": lambda answer: '{"id": ' * 3000,
    "cut-short": lambda answer: answer[: len(answer) // 2],
    "too-long": lambda answer: answer[:-1] + " " * 20_000 + "}",
    "client-data-not-json": lambda answer: answer_bent(
        answer, clientDataJSON=b64url(b"not json")
    ),
    "client-data-not-utf8": lambda answer: answer_bent(
        answer, clientDataJSON=b64url(b"\xff\xfe{")
    ),
    "client-data-deeply-nested": lambda answer: answer_bent(
        answer, clientDataJSON=b64url(b"[" * 5000)
    ),
    "client-data-of-numbers": lambda answer: answer_bent(
        answer,
        clientDataJSON=b64url(
            json.dumps({**client_data_of(answer), "challenge": 5, "origin": 7}).encode()
        ),
    ),
    "client-data-of-a-creation": lambda answer: answer_bent(
        answer,
        clientDataJSON=b64url(
            json.dumps({**client_data_of(answer), "type": "webauthn.create"}).encode()
        ),
    ),
    "client-data-not-base64": lambda answer: answer_bent(answer, clientDataJSON="*!*"),
    "authenticator-data-short": lambda answer: answer_bent(
        answer, authenticatorData=b64url(b"abc")
    ),
    "signature-not-der": lambda answer: answer_bent(
        answer, signature=b64url(b"not a signature")
    ),
    "signature-a-number": lambda answer: answer_bent(answer, signature=12),
    "user-handle-a-list": lambda answer: answer_bent(answer, userHandle=[1]),
}


@pytest.mark.parametrize("bend", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_garbled_sign_in_answer_is_refused_plainly_never_a_500(
    app: Flask, member: Member, bend: Callable[[str], str]
) -> None:
    browser = app.test_client()
    options = sign_in_options(browser)
    before = snapshot(app)

    response = post_sign_in(browser, bend(member.authenticator.get(options)))

    assert response.status_code == 401
    page = words_of(response)
    assert REFUSED in page
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


@pytest.mark.parametrize("bend", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_garbled_second_step_answer_is_refused_plainly_never_a_500(
    app: Flask, member: Member, bend: Callable[[str], str]
) -> None:
    turn_on_two_factor(app, member.user)
    browser = pending_second_step(app, member.user)
    options = second_step_options(browser)
    before = snapshot(app)

    response = post_second_step(browser, bend(member.authenticator.get(options)))

    assert response.status_code == 401
    page = words_of(response)
    assert REFUSED in page
    assert not signed_in_on(browser)
    only_the_challenge_is_gone(app, before)


CREATION_GARBAGE: dict[str, Callable[[str], str]] = {
    "not-json": lambda answer: "this is not JSON",
    "a-list": lambda answer: "[1, 2, 3]",
    "deeply-nested": lambda answer: "[" * 5000 + "]" * 5000,
    "nested-in-an-object": lambda answer: '{"id": ' * 3000,
    "cut-short": lambda answer: answer[: len(answer) // 2],
    "too-long": lambda answer: answer[:-1] + " " * 20_000 + "}",
    "client-data-deeply-nested": lambda answer: answer_bent(
        answer, clientDataJSON=b64url(b"[" * 5000)
    ),
    "attestation-not-cbor": lambda answer: answer_bent(
        answer, attestationObject=b64url(b"\xff" * 40)
    ),
}


@pytest.mark.parametrize("bend", CREATION_GARBAGE.values(), ids=CREATION_GARBAGE.keys())
def test_a_garbled_new_passkey_is_refused_plainly_never_a_500(
    app: Flask, client: FlaskClient, signed_in: User, bend: Callable[[str], str]
) -> None:
    options = creation_options(client)
    before = snapshot(app)

    response = post_new_passkey(client, bend(Authenticator().create(options)))

    assert response.status_code == 422
    assert REFUSED in words_of(response)
    only_the_challenge_is_gone(app, before)


@pytest.mark.parametrize(
    "transports", [5, [["internal"]], [{"usb": 1}], "internal"], ids=repr
)
def test_a_new_passkey_with_garbled_transports_is_added_without_them(
    app: Flask, client: FlaskClient, signed_in: User, transports: Any
) -> None:
    # not signed: the browser's word, which a member's own device may garble
    answer = Authenticator().create(creation_options(client))

    response = post_new_passkey(client, answer_bent(answer, transports=transports))

    assert response.status_code == 302
    [passkey] = stored_passkeys(app, signed_in)
    assert passkey.transports == ""


def test_an_empty_answer_says_the_browser_sent_no_passkey(
    app: Flask, member: Member
) -> None:
    browser = app.test_client()
    sign_in_options(browser)
    before = snapshot(app)

    response = post_sign_in(browser, "")

    assert response.status_code == 400
    assert NOT_ANSWERED in words_of(response)
    assert not signed_in_on(browser)
    assert snapshot(app) == before


def test_an_answer_over_the_request_size_limit_is_a_413_page(
    app: Flask, member: Member
) -> None:
    browser = app.test_client()
    options = sign_in_options(browser)
    answer = member.authenticator.get(options)
    before = snapshot(app)

    response = post_sign_in(browser, answer[:-1] + " " * 300_000 + "}")

    assert response.status_code == 413
    assert "<nav" in response.get_data(as_text=True)  # the site's own page
    assert not signed_in_on(browser)
    assert snapshot(app) == before


# -- CSRF ------------------------------------------------------------------------------


def test_asking_for_a_sign_in_challenge_needs_a_csrf_token(app: Flask) -> None:
    browser = app.test_client()
    browser.get("/auth/login")

    response = browser.post("/auth/passkey/options")

    assert response.status_code == 400
    assert waiting_challenges(app) == 0


def test_a_sign_in_answer_needs_a_csrf_token(app: Flask, member: Member) -> None:
    browser = app.test_client()
    answer = member.authenticator.get(sign_in_options(browser))
    before = snapshot(app)

    response = browser.post("/auth/passkey", data={"credential": answer})

    assert response.status_code == 400
    assert not signed_in_on(browser)
    assert snapshot(app) == before


def test_the_second_steps_passkey_posts_need_a_csrf_token(
    app: Flask, member: Member
) -> None:
    turn_on_two_factor(app, member.user)
    browser = pending_second_step(app, member.user)
    before = snapshot(app)

    assert browser.post("/auth/two-factor/passkey/options").status_code == 400
    assert snapshot(app) == before
    answer = member.authenticator.get(second_step_options(browser))
    before = snapshot(app)
    response = browser.post("/auth/two-factor/passkey", data={"credential": answer})

    assert response.status_code == 400
    assert not signed_in_on(browser)
    assert snapshot(app) == before


def test_adding_a_passkey_needs_a_csrf_token_for_both_posts(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    before = snapshot(app)
    response = client.post(
        "/account/passkeys/options", data={"name": "Laptop", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert snapshot(app) == before

    answer = Authenticator().create(creation_options(client))
    before = snapshot(app)
    response = client.post(
        "/account/passkeys", data={"name": "Laptop", "credential": answer}
    )

    assert response.status_code == 400
    assert snapshot(app) == before
