"""The security log: each event lands in its account's log, with where it came from.

Every flow is driven through the routes, by an owner's browser and an attacker's,
each with an IP and a User-Agent of its own, then read back from the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMail, SecurityEvent, SecurityEventKind, User, UserSession
from tests import two_factor
from tests.authenticator import Authenticator
from tests.conftest import csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD
from tests.passkeys import add_passkey, sign_in_with_passkey

Outbox = Callable[[], list[OutboxMail]]

WRONG = "not the password at all"
NEW_PASSWORD = "lantern orchard quietly sixteen"
RESET_PASSWORD = "velvet harbour quince meadow"


class Origin(NamedTuple):
    ip: str
    user_agent: str


OWNER = Origin("198.51.100.7", "OwnersBrowser/1.0 (security log test)")
ATTACKER = Origin("203.0.113.66", "GuessingBot/6.6 (security log test)")


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Limits high enough for one client to fail its way into a lockout."""
    return {
        "LOGIN_LIMIT_PER_EMAIL": "100 per minute",
        "LOGIN_LIMIT_PER_IP": "100 per minute",
    }


def browser(app: Flask, origin: Origin) -> FlaskClient:
    """A client whose every request comes from `origin`'s IP and User-Agent."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=origin.ip, HTTP_USER_AGENT=origin.user_agent)
    return client


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    return browser(app, OWNER)


@pytest.fixture
def attacker(app: Flask) -> FlaskClient:
    return browser(app, ATTACKER)


def events(app: Flask, user_id: int | None = None) -> list[SecurityEvent]:
    """The account's security log, oldest first (every account's without one)."""
    query = select(SecurityEvent).order_by(SecurityEvent.id)
    if user_id is not None:
        query = query.where(SecurityEvent.user_id == user_id)
    with app.app_context():
        found = list(db.session.scalars(query))
        db.session.remove()
    return found


def log_of(app: Flask, user_id: int) -> list[tuple[str, str, str]]:
    """The account's log as (kind, IP, User-Agent), oldest first."""
    return [(e.kind, e.ip, e.user_agent) for e in events(app, user_id)]


def entry(kind: SecurityEventKind, origin: Origin) -> tuple[str, str, str]:
    return (kind, origin.ip, origin.user_agent)


def mailed_link(outbox: Outbox, subject: str) -> str:
    """The link in the newest mail, which must be the one expected."""
    mail = outbox()[-1]
    assert mail.subject == subject
    return link_in(mail.body)


def sign_up(app: Flask, client: FlaskClient, outbox: Outbox, email: str) -> int:
    """Sign up through the form and confirm the mailed link; return the account id."""
    data = {"name": "Ada", "email": email, "password": PASSWORD, "confirm": PASSWORD}
    assert submit(client, "/auth/register", data).status_code == 302
    link = mailed_link(outbox, "Confirm your e-mail address")
    assert submit(client, link, {}).status_code == 302
    with app.app_context():
        user_id = db.session.scalars(select(User.id).where(User.email == email)).one()
        db.session.remove()
    return user_id


def fail_sign_ins(client: FlaskClient, email: str, times: int) -> None:
    for _ in range(times):
        assert sign_in(client, email, WRONG).status_code == 401


def lock_out(app: Flask, client: FlaskClient, email: str) -> None:
    fail_sign_ins(client, email, app.config["LOCKOUT_THRESHOLD"])


def change_password(client: FlaskClient, current: str, new: str) -> None:
    data = {"current": current, "password": new, "confirm": new}
    assert submit(client, "/account/password", data).status_code == 302


def reset_password(client: FlaskClient, outbox: Outbox, email: str) -> None:
    assert submit(client, "/auth/forgot", {"email": email}).status_code == 302
    link = mailed_link(outbox, "Reset your password")
    data = {"password": RESET_PASSWORD, "confirm": RESET_PASSWORD}
    assert submit(client, link, data).status_code == 302


def test_a_sign_in_is_in_the_members_security_log(
    app: Flask, owner: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()

    assert sign_in(owner, user.email).status_code == 302

    assert log_of(app, user.id) == [entry(SecurityEventKind.SIGN_IN, OWNER)]


def test_a_failed_sign_in_is_in_the_targeted_accounts_security_log(
    app: Flask, attacker: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()

    fail_sign_ins(attacker, user.email, 1)

    assert log_of(app, user.id) == [entry(SecurityEventKind.SIGN_IN_FAILED, ATTACKER)]


def test_opening_the_verify_link_puts_the_verification_in_the_new_accounts_log(
    app: Flask, owner: FlaskClient, outbox: Outbox
) -> None:
    user_id = sign_up(app, owner, outbox, "ada@example.com")

    # confirming the link also signs the browser in
    assert log_of(app, user_id) == [
        entry(SecurityEventKind.EMAIL_VERIFIED, OWNER),
        entry(SecurityEventKind.SIGN_IN, OWNER),
    ]


def test_the_failure_that_locks_an_address_puts_a_lockout_in_the_owners_log(
    app: Flask, attacker: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    fail_sign_ins(attacker, user.email, app.config["LOCKOUT_THRESHOLD"] - 1)
    seen = len(log_of(app, user.id))

    fail_sign_ins(attacker, user.email, 1)

    assert log_of(app, user.id)[seen:] == [
        entry(SecurityEventKind.SIGN_IN_FAILED, ATTACKER),
        entry(SecurityEventKind.LOCKOUT, ATTACKER),
    ]


def test_the_unlock_link_from_the_lockout_mail_is_in_the_owners_log(
    app: Flask,
    owner: FlaskClient,
    attacker: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
) -> None:
    user = make_user()
    lock_out(app, attacker, user.email)
    link = mailed_link(outbox, "Sign-in to your account is paused")
    seen = len(log_of(app, user.id))

    assert submit(owner, link, {}).status_code == 302

    assert log_of(app, user.id)[seen:] == [entry(SecurityEventKind.UNLOCK, OWNER)]


def test_a_password_change_is_in_the_owners_security_log(
    app: Flask, owner: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    assert sign_in(owner, user.email).status_code == 302
    seen = len(log_of(app, user.id))

    change_password(owner, PASSWORD, NEW_PASSWORD)

    assert log_of(app, user.id)[seen:] == [
        entry(SecurityEventKind.PASSWORD_CHANGED, OWNER)
    ]


def test_a_password_reset_through_the_mailed_link_is_in_the_owners_log(
    app: Flask, owner: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()

    reset_password(owner, outbox, user.email)

    assert log_of(app, user.id) == [entry(SecurityEventKind.PASSWORD_RESET, OWNER)]


def test_failed_sign_ins_for_an_address_without_an_account_are_in_nobodys_log(
    app: Flask, attacker: FlaskClient, make_user: Callable[..., User]
) -> None:
    make_user()  # an account the failures must not be pinned on

    # up to a lockout, which has no owner to be told either
    lock_out(app, attacker, "nobody@example.com")

    assert events(app) == []


REVOKE_OTHERS = "/account/sessions/revoke-others"
SESSION_ACTION_RE = re.compile(r'action="(/account/sessions/\d+/revoke)"')


def session_action(client: FlaskClient) -> str:
    """The form action that ends the first other session the sessions page lists."""
    page = client.get("/account/sessions").get_data(as_text=True)
    found = SESSION_ACTION_RE.search(page)
    assert found, "the sessions page lists no other session"
    return found.group(1)


def test_signing_out_is_in_the_members_security_log(
    app: Flask, owner: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    assert sign_in(owner, user.email).status_code == 302

    assert submit(owner, "/", {}, "/auth/logout").status_code == 302

    assert log_of(app, user.id)[-1] == entry(SecurityEventKind.SIGN_OUT, OWNER)


def test_ending_a_session_is_in_the_log_of_the_member_who_ended_it(
    app: Flask, owner: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    assert sign_in(owner, user.email).status_code == 302
    assert sign_in(browser(app, ATTACKER), user.email).status_code == 302

    ended = submit(owner, "/account/sessions", {}, session_action(owner))
    assert ended.status_code == 302

    assert log_of(app, user.id)[-1] == entry(SecurityEventKind.SESSION_REVOKED, OWNER)


def test_ending_every_other_session_is_in_the_members_security_log(
    app: Flask, owner: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    assert sign_in(owner, user.email).status_code == 302
    assert sign_in(browser(app, ATTACKER), user.email).status_code == 302

    assert submit(owner, "/account/sessions", {}, REVOKE_OTHERS).status_code == 302

    kind = SecurityEventKind.OTHER_SESSIONS_REVOKED
    assert log_of(app, user.id)[-1] == entry(kind, OWNER)


def test_every_kind_a_full_journey_stores_is_a_security_event_kind(
    app: Flask,
    owner: FlaskClient,
    attacker: FlaskClient,
    outbox: Outbox,
    make_user: Callable[..., User],
) -> None:
    email = "ada@example.com"
    sign_up(app, owner, outbox, email)
    change_password(owner, PASSWORD, NEW_PASSWORD)
    lock_out(app, attacker, email)
    link = mailed_link(outbox, "Sign-in to your account is paused")
    assert submit(owner, link, {}).status_code == 302
    reset_password(owner, outbox, email)
    phone, tablet, laptop = (browser(app, OWNER) for _ in range(3))
    for other in (phone, tablet, laptop):
        assert sign_in(other, email, RESET_PASSWORD).status_code == 302
    ended = submit(phone, "/account/sessions", {}, session_action(phone))
    assert ended.status_code == 302
    assert submit(phone, "/account/sessions", {}, REVOKE_OTHERS).status_code == 302
    assert submit(phone, "/", {}, "/auth/logout").status_code == 302
    thief = browser(app, ATTACKER)
    assert sign_in(thief, email, RESET_PASSWORD).status_code == 302
    link = mailed_link(outbox, "A new sign-in to your Vestibule account")
    assert submit(owner, link, {}).status_code == 302
    reset_password(owner, outbox, email)  # "not me" locked the password
    assert sign_in(owner, email, RESET_PASSWORD).status_code == 302
    move = {"email": "ada.moved@example.com", "password": RESET_PASSWORD}
    assert submit(owner, "/account/email", move).status_code == 302
    link = mailed_link(outbox, "Confirm your new e-mail address")
    assert submit(owner, link, {}).status_code == 302
    link = mailed_link(outbox, "Your Vestibule account moved to another address")
    assert submit(owner, link, {}).status_code == 302
    reset_password(owner, outbox, email)  # the undo locked the password
    assert sign_in(owner, email, RESET_PASSWORD).status_code == 302
    _, codes = two_factor.turn_on(owner, RESET_PASSWORD)
    assert submit(owner, "/", {}, "/auth/logout").status_code == 302
    assert sign_in(owner, email, RESET_PASSWORD).status_code == 302
    assert two_factor.second_step(owner, "000000").status_code == 401
    assert two_factor.second_step(owner, codes[0]).status_code == 302
    renew = {"password": RESET_PASSWORD, "code": codes[1]}
    action = "/account/two-factor/recovery-codes"
    response = submit(owner, "/account/two-factor", renew, action)
    codes = two_factor.recovery_codes_on(response)
    turn_off = {"password": RESET_PASSWORD, "code": codes[0]}
    action = "/account/two-factor/disable"
    assert submit(owner, "/account/two-factor", turn_off, action).status_code == 302
    # passkeys: one added, signed in with, a copy of it refused, removed; another
    # added, for the admin to remove
    authenticator = Authenticator()
    assert add_passkey(owner, authenticator, password=RESET_PASSWORD).status_code == 302
    assert submit(owner, "/", {}, "/auth/logout").status_code == 302
    assert sign_in_with_passkey(owner, authenticator).status_code == 302
    assert submit(owner, "/", {}, "/auth/logout").status_code == 302
    copied = sign_in_with_passkey(owner, authenticator, sign_count=1)  # went back
    assert copied.status_code == 401
    assert sign_in(owner, email, RESET_PASSWORD).status_code == 302
    page = owner.get("/account/passkeys").get_data(as_text=True)
    found = re.search(r"/account/passkeys/(\d+)/remove", page)
    assert found is not None
    remove = f"/account/passkeys/{found[1]}/remove"
    assert submit(owner, remove, {}).status_code == 302
    assert (
        add_passkey(owner, Authenticator(), password=RESET_PASSWORD).status_code == 302
    )
    # an admin's actions on the account
    boss = make_user(is_admin=True)
    admin = browser(app, OWNER)
    assert sign_in(admin, boss.email).status_code == 302
    with app.app_context():
        ada_id = db.session.scalars(select(User.id).where(User.email == email)).one()
        db.session.remove()
    two_factor.turn_on(owner, RESET_PASSWORD)  # on again, for the admin to turn off
    for action in (
        "disable-two-factor",
        "remove-passkeys",
        "make-admin",
        "revoke-admin",
        "deactivate",
        "activate",
    ):
        path = f"/admin/users/{ada_id}/{action}"
        assert submit(admin, "/admin/users", {}, path).status_code == 302
    lock_out(app, attacker, email)  # the undo moved the account back to it
    clear = {"email": email}
    action = "/admin/abuse/clear-lockout"
    assert submit(admin, "/admin/abuse", clear, action).status_code == 302

    stored = [SecurityEventKind(event.kind) for event in events(app)]

    assert set(stored) == set(SecurityEventKind)  # the journey wrote every kind


# A User-Agent a client chose: NUL and other control characters (PostgreSQL refuses
# NUL in text), and far longer than the column.
HOSTILE_AGENT = "Bot/1.0\x00(nul)\x1b[31m\x7f\x85" + "x" * 300
HOSTILE = Origin("198.51.100.9", HOSTILE_AGENT)


def stored_agents(app: Flask, user_id: int) -> list[str]:
    """Every User-Agent stored for the account: its log's and its sessions'."""
    with app.app_context():
        agents = list(
            db.session.scalars(
                select(SecurityEvent.user_agent).where(SecurityEvent.user_id == user_id)
            )
        )
        agents += db.session.scalars(
            select(UserSession.user_agent).where(UserSession.user_id == user_id)
        )
        db.session.remove()
    return agents


@pytest.mark.parametrize("password", [WRONG, PASSWORD], ids=["wrong", "right"])
def test_a_user_agent_with_control_characters_is_stored_without_them(
    app: Flask, make_user: Callable[..., User], password: str
) -> None:
    user = make_user()
    client = browser(app, HOSTILE)

    response = sign_in(client, user.email, password)

    assert response.status_code == (302 if password == PASSWORD else 401)
    expected = (
        SecurityEventKind.SIGN_IN
        if password == PASSWORD
        else SecurityEventKind.SIGN_IN_FAILED
    )
    assert [kind for kind, _, _ in log_of(app, user.id)] == [expected]
    agents = stored_agents(app, user.id)
    assert len(agents) == (2 if password == PASSWORD else 1)  # + the session's
    for agent in agents:
        assert agent.startswith("Bot/1.0(nul)[31m")
        assert not any(unicodedata.category(ch) == "Cc" for ch in agent)
        assert len(agent) <= 255


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "TRUSTED_PROXIES": 1,
            "LOGIN_LIMIT_PER_EMAIL": "100 per minute",
            "LOGIN_LIMIT_PER_IP": "100 per minute",
        }
    ],
    ids=["behind-a-proxy"],
)
@pytest.mark.parametrize(
    "forwarded",
    ["fe80::1%\x00" + "z" * 60, "fe80::1%eth0", "198.51.100.9\x00", "not an ip"],
    ids=["scope-with-nul", "scope", "ipv4-with-nul", "text"],
)
def test_a_forwarded_address_is_stored_as_an_ip_or_not_at_all(
    app: Flask, make_user: Callable[..., User], forwarded: str
) -> None:
    user = make_user()
    client = app.test_client()

    response = client.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": WRONG,
            "csrf_token": csrf_from(client.get("/auth/login")),
        },
        headers={"X-Forwarded-For": forwarded},
    )

    assert response.status_code == 401
    [(kind, ip, _)] = log_of(app, user.id)
    assert kind == SecurityEventKind.SIGN_IN_FAILED
    assert ip == ("fe80::1" if forwarded.startswith("fe80") else "")
