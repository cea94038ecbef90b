"""The admin area: only admins get in; what they do is done and logged."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    OutboxMail,
    RecoveryCode,
    SecurityEvent,
    SecurityEventKind,
    User,
    UserSession,
)
from app.services import throttles as throttles_service
from tests.conftest import TEST_REDIS_URL, csrf_from, link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD
from tests.two_factor import second_step, turn_on

ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/abuse", "/admin/mail"]
ACTIONS = ["deactivate", "activate", "make-admin", "revoke-admin", "disable-two-factor"]
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a two-factor secret for rows made here
TURN_OFF_TWO_FACTOR = "/disable-two-factor"
NEW_PASSWORD = "quiet lantern harbour nineteen"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"ADMIN_PAGE_SIZE": 2}


@pytest.fixture
def admin(client: FlaskClient, make_user: Callable[..., User]) -> User:
    """An admin, signed in on `client`."""
    user = make_user(name="Ada Admin", email="ada.admin@example.com", is_admin=True)
    assert sign_in(client, user.email).status_code == 302
    return user


def act(client: FlaskClient, user_id: int, action: str, query: str = "") -> Any:
    """Press an action's button on the accounts page, as the admin would."""
    page = client.get(f"/admin/users{query}")
    return client.post(
        f"/admin/users/{user_id}/{action}{query}",
        data={"csrf_token": csrf_from(page)},
    )


FORM_ACTION_RE = re.compile(r'<form method="post" action="(/admin/users/[^"]+)"')


def confirm(client: FlaskClient, page: str) -> Any:
    """Open the page that asks once and press its button, as the admin would."""
    asked = client.get(page)
    assert asked.status_code == 200
    (action,) = FORM_ACTION_RE.findall(asked.get_data(as_text=True))
    return client.post(html.unescape(action), data={"csrf_token": csrf_from(asked)})


def reload(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get_one(User, user_id)
        db.session.expunge(user)
        db.session.remove()
    return user


def log_of(app: Flask, user_id: int) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(SecurityEvent.kind, SecurityEvent.actor_id)
            .where(SecurityEvent.user_id == user_id)
            .order_by(SecurityEvent.id)
        ).all()
        db.session.remove()
    return [(kind, actor) for kind, actor in rows]


def emails_listed(page: str) -> list[str]:
    return re.findall(r"· ([\w.+-]+@[\w.-]+)", page)


class _Buttons(HTMLParser):
    """Each <button>'s visible words and accessible name, as a screen reader has it.

    The name is its aria-label when it has one, else all its text; the visible
    words leave out text in a `visually-hidden` element.
    """

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._label: str | None = None
        self._hidden: list[bool] | None = None  # inside a button: one per element
        self._visible: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "button":
            self._label, self._hidden = found.get("aria-label"), []
            self._visible, self._text = [], []
        elif self._hidden is not None:
            self._hidden.append("visually-hidden" in (found.get("class") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._hidden is not None:
            visible = " ".join("".join(self._visible).split())
            text = " ".join("".join(self._text).split())
            self.found.append((visible, self._label or text))
            self._hidden = None
        elif self._hidden:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if self._hidden is not None:
            self._text.append(data)
            if not any(self._hidden):
                self._visible.append(data)


def buttons_of(page: str) -> list[tuple[str, str]]:
    """Return (visible words, accessible name) of every button on the page."""
    parser = _Buttons()
    parser.feed(page)
    return parser.found


# -- who gets in -------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_members_who_are_not_admins_get_403(
    client: FlaskClient, signed_in: User, path: str
) -> None:
    response = client.get(path)

    assert response.status_code == 403
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_member_cannot_act_on_an_account(
    app: Flask, client: FlaskClient, signed_in: User, action: str
) -> None:
    before = snapshot(app)

    response = client.post(
        f"/admin/users/{signed_in.id}/{action}",
        data={"csrf_token": csrf_from(client.get("/account/profile"))},
    )

    assert response.status_code == 403
    assert snapshot(app) == before


def test_admin_pages_are_not_stored_by_the_browser(
    client: FlaskClient, admin: User
) -> None:
    response = client.get("/admin/users")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# -- accounts ----------------------------------------------------------------------


def test_search_by_address_or_name_filter_and_pages(
    client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    make_user(name="Grace Hopper", email="grace@example.com")
    make_user(name="Alan Turing", email="alan@example.org", is_active=False)
    make_user(name="Barbara Liskov", email="barbara@example.org")

    by_name = client.get("/admin/users?q=hopper").get_data(as_text=True)
    by_address = client.get("/admin/users?q=EXAMPLE.ORG").get_data(as_text=True)
    inactive = client.get("/admin/users?filter=inactive").get_data(as_text=True)
    admins = client.get("/admin/users?filter=admins").get_data(as_text=True)
    first = client.get("/admin/users").get_data(as_text=True)
    second = client.get("/admin/users?page=2").get_data(as_text=True)

    assert emails_listed(by_name) == ["grace@example.com"]
    assert sorted(emails_listed(by_address)) == [
        "alan@example.org",
        "barbara@example.org",
    ]
    assert emails_listed(inactive) == ["alan@example.org"]
    assert emails_listed(admins) == ["ada.admin@example.com"]
    shown = emails_listed(first) + emails_listed(second)
    assert len(shown) == 4 and len(set(shown)) == 4  # 2 a page here, none twice
    assert "Page 1 of 2" in first and 'rel="next"' in first


def test_search_takes_wildcards_literally(
    client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    make_user(name="Grace Hopper", email="grace@example.com")

    page = client.get("/admin/users?q=%25").get_data(as_text=True)

    assert emails_listed(page) == []


def test_deactivating_ends_every_session_and_is_in_the_members_log(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(name="Doomed Dora")
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        assert sign_in(browser, member.email).status_code == 302

    response = act(client, member.id, "deactivate", "?q=dora")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users?q=dora")
    assert not reload(app, member.id).is_active
    for browser in (laptop, phone):
        assert browser.get("/account/profile").status_code == 302
    assert sign_in(app.test_client(), member.email).status_code == 403
    assert log_of(app, member.id)[-1] == (SecurityEventKind.DEACTIVATED, admin.id)
    with app.app_context():
        sessions = db.session.scalar(
            select(func.count(UserSession.id)).where(UserSession.user_id == member.id)
        )
        db.session.remove()
    assert sessions == 0


def test_an_activated_account_signs_in_again_and_sees_who_did_what(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(is_active=False)

    assert act(client, member.id, "activate").status_code == 302

    browser = app.test_client()
    assert sign_in(browser, member.email).status_code == 302
    log = browser.get("/account/security").get_data(as_text=True)
    assert "An administrator activated the account again" in log
    assert log_of(app, member.id)[0] == (SecurityEventKind.ACTIVATED, admin.id)


def test_making_and_revoking_an_admin(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user()

    assert act(client, member.id, "make-admin").status_code == 302
    promoted = app.test_client()
    assert sign_in(promoted, member.email).status_code == 302
    assert promoted.get("/admin/users").status_code == 200
    assert act(client, member.id, "revoke-admin").status_code == 302

    assert promoted.get("/admin/users").status_code == 403
    by_admins = [entry for entry in log_of(app, member.id) if entry[1] is not None]
    assert by_admins == [
        (SecurityEventKind.ADMIN_GRANTED, admin.id),
        (SecurityEventKind.ADMIN_REVOKED, admin.id),
    ]


def test_the_last_admin_cannot_be_revoked_or_deactivated(
    app: Flask, admin: User
) -> None:
    # Through the admin area the last admin could only act on their own row, which
    # is refused before this rule is reached; the CLI acts as nobody (actor None).
    from app.services import admin as admin_service
    from app.services.security_log import ClientInfo

    before = snapshot(app)
    with app.app_context():
        for action in (admin_service.revoke_admin, admin_service.deactivate):
            with pytest.raises(admin_service.LastAdmin, match="only active admin"):
                action(admin.id, None, ClientInfo())
        db.session.remove()

    assert snapshot(app) == before
    user = reload(app, admin.id)
    assert user.is_admin and user.is_active


@pytest.mark.parametrize(
    ("action", "refusal"),
    [
        ("deactivate", "You cannot deactivate your own account"),
        ("revoke-admin", "You cannot revoke your own admin rights"),
        ("disable-two-factor", "You cannot turn off your own two-factor sign-in"),
    ],
)
def test_an_admin_cannot_lock_themselves_out_even_with_another_admin(
    app: Flask,
    client: FlaskClient,
    admin: User,
    make_user: Callable[..., User],
    action: str,
    refusal: str,
) -> None:
    # Before: one click on their own row, with no question asked, signed them out
    # (deactivate) or left them on a 403 page (revoke admin); one more turned off
    # their own second factor without the password and code the account page asks.
    make_user(is_admin=True)  # so that the last-admin rule does not refuse it
    with app.app_context():
        db.session.get_one(User, admin.id).totp_secret = SECRET
        db.session.commit()
    page = client.get("/admin/users")
    before = snapshot(app)

    response = client.post(  # as a hand-made post or a page of before would
        f"/admin/users/{admin.id}/{action}", data={"csrf_token": csrf_from(page)}
    )

    assert response.status_code == 302
    answer = client.get(response.headers["Location"])
    assert answer.status_code == 200  # still signed in, still an admin
    assert refusal in answer.get_data(as_text=True)
    assert "nothing changed" in answer.get_data(as_text=True)
    assert snapshot(app) == before
    user = reload(app, admin.id)
    assert user.is_admin and user.is_active and user.totp_secret == SECRET


def test_the_admins_own_row_offers_no_deactivate_revoke_or_two_factor_button(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    other = make_user(name="Other Admin", is_admin=True, totp_secret=SECRET)
    with app.app_context():
        db.session.get_one(User, admin.id).totp_secret = SECRET
        db.session.commit()

    page = client.get("/admin/users").get_data(as_text=True)

    for action in ("deactivate", "revoke-admin", "disable-two-factor"):
        assert f'action="/admin/users/{other.id}/{action}"' in page
        assert f"/admin/users/{admin.id}/{action}" not in page


ASKED_ONCE = [
    (
        "deactivate",
        "Deactivate Dora Doe?",
        "signed out of every browser at once",
        lambda user: not user.is_active,
    ),
    (
        "revoke-admin",
        "Revoke admin: Dora Doe?",
        "loses the admin area at once",
        lambda user: not user.is_admin,
    ),
    (
        "disable-two-factor",
        "Turn off two-factor sign-in for Dora Doe?",
        "a link to set a new one is mailed",
        lambda user: user.totp_secret is None,
    ),
]


@pytest.mark.parametrize(("action", "heading", "consequence", "done"), ASKED_ONCE)
def test_signing_out_or_taking_rights_asks_once_naming_the_member(
    app: Flask,
    client: FlaskClient,
    admin: User,
    make_user: Callable[..., User],
    action: str,
    heading: str,
    consequence: str,
    done: Callable[[User], bool],
) -> None:
    # Before: the button on the list acted at once, a slip of the finger away.
    member = make_user(
        name="Dora Doe", email="dora@example.org", is_admin=True, totp_secret=SECRET
    )
    listed = client.get("/admin/users?q=dora").get_data(as_text=True)
    before = snapshot(app)

    asked = client.get(f"/admin/users/{member.id}/{action}?q=dora")

    assert f'<form method="post" action="/admin/users/{member.id}/{action}' not in (
        listed
    )
    assert f'<form method="get" action="/admin/users/{member.id}/{action}"' in listed
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert heading in html.unescape(page) and consequence in page
    assert "Dora Doe" in page and "dora@example.org" in page
    assert 'href="/admin/users?q=dora">Cancel</a>' in page
    assert snapshot(app) == before  # asking changed nothing

    response = confirm(client, f"/admin/users/{member.id}/{action}?q=dora")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users?q=dora")
    assert done(reload(app, member.id))


@pytest.mark.parametrize("action", ["deactivate", "revoke-admin", "disable-two-factor"])
def test_the_confirming_post_with_a_forged_or_stale_token_changes_nothing(
    app: Flask,
    client: FlaskClient,
    admin: User,
    make_user: Callable[..., User],
    action: str,
) -> None:
    member = make_user(is_admin=True, totp_secret=SECRET)
    path = f"/admin/users/{member.id}/{action}"
    token = csrf_from(client.get(path))
    # the page was left open while the admin signed out and in again in another tab
    assert submit(client, "/auth/logout", {}).status_code == 302
    assert sign_in(client, admin.email).status_code == 302
    before = snapshot(app)

    forged = client.post(path, data={"csrf_token": "forged"})
    stale = client.post(path, data={"csrf_token": token})

    assert forged.status_code == 400
    assert stale.status_code == 302
    answer = client.get(stale.headers["Location"]).get_data(as_text=True)
    assert "out of date; nothing changed" in answer
    assert snapshot(app) == before


@pytest.mark.parametrize("action", ["deactivate", "revoke-admin", "disable-two-factor"])
def test_no_page_asks_about_what_cannot_be_done(
    app: Flask,
    client: FlaskClient,
    admin: User,
    make_user: Callable[..., User],
    action: str,
) -> None:
    # the admin's own row, and a member for whom there is nothing to take
    make_user(is_admin=True)
    with app.app_context():
        db.session.get_one(User, admin.id).totp_secret = SECRET
        db.session.commit()
    plain = make_user(is_active=False)
    before = snapshot(app)

    for user_id in (admin.id, plain.id):
        response = client.get(f"/admin/users/{user_id}/{action}")

        assert response.status_code == 302
        assert response.headers["Location"].endswith("/admin/users")
    assert client.get(f"/admin/users/999999/{action}").status_code == 404
    assert snapshot(app) == before


def test_an_unknown_account_id_is_404(client: FlaskClient, admin: User) -> None:
    for user_id in (999_999, 2**40):
        assert act(client, user_id, "deactivate").status_code == 404


def test_an_action_without_a_csrf_token_changes_nothing(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user()
    before = snapshot(app)

    response = client.post(f"/admin/users/{member.id}/deactivate")

    assert response.status_code == 400
    assert snapshot(app) == before


def test_every_buttons_accessible_name_begins_with_its_visible_words(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    # WCAG 2.5.3, label in name: one says "Revoke admin" to a speech tool and the
    # button must answer. It was "Take admin rights from X" and "Make X an admin".
    make_user(name="Grace Hopper", is_admin=True, totp_secret=SECRET)
    make_user(name="Alan Turing", is_active=False)
    make_user(name="Barbara Liskov")
    with app.app_context():
        db.session.add(
            OutboxMail(
                recipient="grace@example.com",
                subject="Undelivered",
                body="It failed every attempt.",
                attempts=app.config["MAIL_MAX_ATTEMPTS"],
            )
        )
        db.session.commit()
        db.session.remove()
    guesser = app.test_client()
    for n in range(6):  # refused at the sixth: listed under lockouts and limits
        sign_in(guesser, "grace@example.com", f"wrong guess {n}")
    pages = [
        "/admin/users?page=1",
        "/admin/users?page=2",
        "/admin/abuse",
        "/admin/mail",
        "/account/profile",
        "/account/password",
        "/account/email",
        "/account/sessions",
        "/account/two-factor",
        "/account/delete",
    ]

    found = {
        path: buttons_of(client.get(path).get_data(as_text=True)) for path in pages
    }

    wrong = {
        path: [
            (visible, name)
            for visible, name in buttons
            if not visible or not name.casefold().startswith(visible.casefold())
        ]
        for path, buttons in found.items()
    }
    assert {path: pairs for path, pairs in wrong.items() if pairs} == {}
    named = {name for buttons in found.values() for _, name in buttons}
    assert {"Revoke admin: Grace Hopper", "Make admin: Barbara Liskov"} <= named
    assert {"Deactivate Grace Hopper", "Activate Alan Turing"} <= named
    assert any(name.startswith("Clear") for name in named)
    assert any(name.startswith("Send again") for name in named)


# -- two-factor sign-in turned off for its owner --------------------------------------


def test_an_admin_turns_two_factor_off_and_only_the_mailed_reset_link_lets_in(
    app: Flask,
    client: FlaskClient,
    admin: User,
    make_user: Callable[..., User],
    outbox: Callable[[], list[OutboxMail]],
) -> None:
    # Someone who knew the password turned two-factor on: the owner has neither the
    # app nor the codes, and a password reset leaves it on.
    member = make_user(name="Locked-out Lou")
    intruder = app.test_client()
    assert sign_in(intruder, member.email).status_code == 302
    turn_on(intruder)
    owner = app.test_client()
    assert sign_in(owner, member.email).headers["Location"].endswith("/auth/two-factor")
    assert second_step(owner, "000000").status_code == 401
    page = client.get("/admin/users?q=lou").get_data(as_text=True)
    assert f'action="/admin/users/{member.id}{TURN_OFF_TWO_FACTOR}"' in page

    response = confirm(client, f"/admin/users/{member.id}{TURN_OFF_TWO_FACTOR}?q=lou")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users?q=lou")
    assert "Two-factor sign-in is off for Locked-out Lou" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    user = reload(app, member.id)
    assert (user.totp_secret, user.totp_enabled_at, user.totp_last_step) == (
        None,
        None,
        None,
    )
    with app.app_context():
        left = db.session.scalar(
            select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id)
        )
        sessions = db.session.scalar(
            select(func.count(UserSession.id)).where(UserSession.user_id == user.id)
        )
        db.session.remove()
    assert left == sessions == 0
    assert intruder.get("/account/profile").status_code == 302  # signed out
    # the password the intruder knew no longer signs in, or they would turn it on again
    assert sign_in(app.test_client(), member.email).status_code == 401
    reset = [m for m in outbox() if m.subject == "Reset your password"]
    assert len(reset) == 1 and reset[0].recipient == member.email
    browser = app.test_client()
    owners = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert submit(browser, link_in(reset[0].body), owners).status_code == 302
    signed_in = sign_in(browser, member.email, NEW_PASSWORD)
    assert signed_in.status_code == 302
    assert not signed_in.headers["Location"].endswith("/auth/two-factor")
    assert browser.get("/account/profile").status_code == 200
    log = browser.get("/account/security").get_data(as_text=True)
    assert "An administrator turned off two-factor sign-in" in log
    assert (SecurityEventKind.TWO_FACTOR_OFF_BY_ADMIN, admin.id) in log_of(
        app, member.id
    )
    notice = [m for m in outbox() if m.subject == "Two-factor sign-in is now off"]
    assert len(notice) == 1 and notice[0].recipient == member.email
    assert "operator" in notice[0].body
    assert "password no longer works" in notice[0].body


def test_a_member_cannot_turn_off_anyone_elses_two_factor(
    app: Flask,
    client: FlaskClient,
    signed_in: User,
    make_user: Callable[..., User],
) -> None:
    other = make_user(totp_secret=SECRET)
    before = snapshot(app)

    response = client.post(
        f"/admin/users/{other.id}{TURN_OFF_TWO_FACTOR}",
        data={"csrf_token": csrf_from(client.get("/account/profile"))},
    )

    assert response.status_code == 403
    assert snapshot(app) == before
    assert reload(app, other.id).totp_secret == SECRET


def test_turning_off_two_factor_needs_a_csrf_token(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(totp_secret=SECRET)
    before = snapshot(app)

    response = client.post(f"/admin/users/{member.id}{TURN_OFF_TWO_FACTOR}")

    assert response.status_code == 400
    assert snapshot(app) == before


def test_an_account_without_two_factor_has_no_button_to_turn_it_off(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    without = make_user(name="Plain Pat")
    with_it = make_user(name="Careful Cai", totp_secret=SECRET)
    page = client.get("/admin/users").get_data(as_text=True)
    before = snapshot(app)

    # as from a page left open while the owner turned it off themselves
    response = act(client, without.id, TURN_OFF_TWO_FACTOR[1:])

    assert f"/admin/users/{without.id}{TURN_OFF_TWO_FACTOR}" not in page
    assert f"/admin/users/{with_it.id}{TURN_OFF_TWO_FACTOR}" in page
    assert 'aria-label="Turn off two-factor sign-in for Careful Cai"' in page
    assert response.status_code == 302
    answer = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "does not have two-factor sign-in on; nothing changed." in answer
    assert snapshot(app) == before


# -- lockouts ------------------------------------------------------------------------


def test_a_locked_account_signs_in_again_after_an_admin_clears_it(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(email="locked@example.com")
    for n in range(10):
        guess = app.test_client()
        guess.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        assert sign_in(guess, member.email, "a wrong guess").status_code == 401
    assert sign_in(app.test_client(), member.email).status_code == 429
    page = client.get("/admin/abuse")
    assert "locked@example.com" in page.get_data(as_text=True)
    assert "Locked until" in page.get_data(as_text=True)

    response = client.post(
        "/admin/abuse/clear-lockout",
        data={"email": "locked@example.com", "csrf_token": csrf_from(page)},
    )

    assert response.status_code == 302
    assert "locked@example.com" not in client.get("/admin/abuse").get_data(True)
    assert sign_in(app.test_client(), member.email, PASSWORD).status_code == 302
    assert log_of(app, member.id)[-2] == (SecurityEventKind.LOCKOUT_CLEARED, admin.id)


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("clear-lockout", {"email": "nobody@example.com"}, "was not locked"),
        ("clear-limit", {"key": "LIMITER/nobody"}, "was not held back"),
    ],
    ids=["lockout", "limit"],
)
def test_clearing_what_is_not_there_changes_nothing(
    app: Flask,
    client: FlaskClient,
    admin: User,
    action: str,
    fields: dict[str, str],
    message: str,
) -> None:
    page = client.get("/admin/abuse")
    before = snapshot(app)

    response = client.post(
        f"/admin/abuse/{action}", data={**fields, "csrf_token": csrf_from(page)}
    )

    assert response.status_code == 302
    assert snapshot(app) == before
    assert message in client.get("/admin/abuse").get_data(as_text=True)


# -- found in review -----------------------------------------------------------------


@pytest.mark.parametrize("mail_id", [2**31, 2**63, 10**20])
def test_requeue_of_a_mail_id_out_of_range_is_no_500(
    app: Flask, client: FlaskClient, admin: User, mail_id: int
) -> None:
    # SQLite: OverflowError from 2**63 up; PostgreSQL: NumericValueOutOfRange from
    # 2**31 up. The accounts' actions check ID_MAX (404); requeue does not.
    page = client.get("/admin/mail")
    before = snapshot(app)

    response = client.post(
        f"/admin/mail/{mail_id}/requeue", data={"csrf_token": csrf_from(page)}
    )

    assert response.status_code in (302, 404)
    assert snapshot(app) == before


def test_two_admins_revoking_each_other_at_once_leave_an_active_admin(
    app: Flask, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from app.services import admin as admin_service

    first = make_user(is_admin=True, email="first.admin@example.com")
    second = make_user(is_admin=True, email="second.admin@example.com")
    browsers = {first.id: app.test_client(), second.id: app.test_client()}
    for user in (first, second):
        assert sign_in(browsers[user.id], user.email).status_code == 302
    tokens = {uid: csrf_from(b.get("/admin/users")) for uid, b in browsers.items()}
    # Both requests have read the account they act on before either writes.
    both_read = threading.Barrier(2, timeout=5)
    read = admin_service.get_user

    def read_together(user_id: int) -> User:
        found = read(user_id)
        both_read.wait()
        return found

    monkeypatch.setattr(admin_service, "get_user", read_together)

    def revoke(actor: User, target: User) -> None:
        browsers[actor.id].post(
            f"/admin/users/{target.id}/revoke-admin",
            data={"csrf_token": tokens[actor.id]},
        )

    threads = [
        threading.Thread(target=revoke, args=(first, second)),
        threading.Thread(target=revoke, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with app.app_context():
        admins = db.session.scalar(
            select(func.count(User.id)).where(
                User.is_admin.is_(True), User.is_active.is_(True)
            )
        )
        db.session.remove()
    assert admins == 1  # it was 0: each request counted the other as an admin


@pytest.mark.parametrize("query", ["\x00", "ada\x00"])
def test_a_nul_in_the_account_search_is_no_500(
    client: FlaskClient, admin: User, query: str
) -> None:
    # Fails on PostgreSQL only (TEST_DATABASE_URL): psycopg refuses NUL in text.
    # The directory's search drops control characters (clean_query); this does not.
    response = client.get("/admin/users", query_string={"q": query})

    assert response.status_code == 200


# -- rate-limited clients ------------------------------------------------------------


def test_a_client_held_back_by_a_rate_limit_is_listed_and_may_try_again_once_cleared(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(email="typo.prone@example.com")
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    for _ in range(5):  # the per-address limit counts failed sign-ins: 5 a minute
        assert sign_in(guesser, member.email, "a wrong guess").status_code == 401
    assert sign_in(guesser, member.email, "a wrong guess").status_code == 429
    page = client.get("/admin/abuse")
    text = page.get_data(as_text=True)
    assert "IP 198.51.100.23 with typo.prone@example.com" in text
    key = re.search(r'name="key" value="([^"]+198\.51\.100\.23[^"]*)"', text)
    assert key is not None

    response = client.post(
        "/admin/abuse/clear-limit",
        data={"key": html.unescape(key[1]), "csrf_token": csrf_from(page)},
    )

    assert response.status_code == 302
    assert sign_in(guesser, member.email, "a wrong guess").status_code == 401
    assert "198.51.100.23" not in client.get("/admin/abuse").get_data(as_text=True)


def test_a_client_with_a_long_key_may_try_again_once_cleared(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    # An IPv6 address and a long address: the storage key passes 255 characters.
    email = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 50}.example"
    member = make_user(email=email)
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe"
    for _ in range(5):
        assert sign_in(guesser, member.email, "a wrong guess").status_code == 401
    assert sign_in(guesser, member.email, "a wrong guess").status_code == 429
    page = client.get("/admin/abuse")
    [key] = re.findall(r'name="key" value="([^"]*)"', page.get_data(as_text=True))
    assert len(html.unescape(key)) > 255

    client.post(
        "/admin/abuse/clear-limit",
        data={"key": html.unescape(key), "csrf_token": csrf_from(page)},
    )

    assert sign_in(guesser, member.email, "a wrong guess").status_code == 401


def shown_of(page: str) -> str:
    """The page's text as shown: no tags, no hidden field's value, no attribute."""
    return html.unescape(re.sub(r"<[^>]*>", " ", page))


def test_a_refused_client_is_listed_in_words_with_the_key_only_in_the_form(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    # It showed "auth.login_submit · 5 per 1 minute" and the storage key
    # LIMITER/<prefix>/198.51.100.23|typo.prone@example.com/auth.login_submit/5/1/
    # minute, and the Clear button was named after that key.
    member = make_user(email="typo.prone@example.com")
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    for _ in range(5):
        assert sign_in(guesser, member.email, "a wrong guess").status_code == 401
    assert sign_in(guesser, member.email, "a wrong guess").status_code == 429

    page = client.get("/admin/abuse").get_data(as_text=True)

    shown = " ".join(shown_of(page).split())
    assert "IP 198.51.100.23 with typo.prone@example.com" in shown
    assert "sign-in, per IP and address: 5 per minute" in shown
    assert "Refused 1 time, the last just now" in shown
    for internal in ("LIMITER", "auth.login_submit", "5 per 1 minute", "|"):
        assert internal not in shown
    keys = re.findall(r'name="key" value="([^"]*)"', page)
    assert len(keys) == 1 and "198.51.100.23|typo.prone@example.com" in keys[0]
    assert page.count("LIMITER/") == 1  # the form's hidden value, and nowhere else
    assert (
        "Clear",
        "Clear the sign-in count (5 per minute) of IP 198.51.100.23 with "
        "typo.prone@example.com",
    ) in buttons_of(page)


def test_every_kind_of_client_and_limit_is_said_in_words(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(name="Grace Hopper", email="grace@example.com")
    # (client, scope, the limit as written) as noted at a refusal, by storage key
    noted = {
        "k1": (
            ("203.0.113.9", "auth.register", "5 per 1 hour"),
            "IP 203.0.113.9",
            "sign-up, per IP: 5 per hour",
        ),
        "k2": (
            ("203.0.113.9", "mail-links", "10 per 1 hour"),
            "IP 203.0.113.9",
            "reset and sign-up links, per IP: 10 per hour",
        ),
        # an address may hold a slash
        "k3": (
            ("2001:db8::1|a/b@example.com", "auth.forgot", "3 per 2 hour"),
            "IP 2001:db8::1 with a/b@example.com",
            "password reset link, per IP and address: 3 per 2 hours",
        ),
        "k4": (
            (f"user|{member.id}", "account-password-checks", "10 per 1 hour"),
            "the account of Grace Hopper (grace@example.com)",
            "password checks in account settings, per account: 10 per hour",
        ),
        "k5": (
            ("user|999999", "account-password-checks", "10 per 1 hour"),
            "account 999999, deleted since",
            "password checks in account settings, per account: 10 per hour",
        ),
        "k6": (
            ("pending:Zm9v", "auth.two_factor", "5 per 1 minute"),
            "a sign-in waiting for its two-factor code",
            "two-factor code, per sign-in: 5 per minute",
        ),
        # noted before clients were: still listed
        "k7": (
            ("", "auth.login_submit", "5 per 1 minute"),
            "a client not recognised",
            "sign-in: 5 per minute",
        ),
    }
    with app.app_context():
        for key, ((who, scope, rate), _, _) in noted.items():
            throttles_service.note_refusal(key, who, scope, rate)
        db.session.remove()

    page = client.get("/admin/abuse").get_data(as_text=True)

    shown = " ".join(shown_of(page).split())
    for _, who, limit in noted.values():
        assert f"{who} {limit} Refused 1 time" in shown
    keys = re.findall(r'name="key" value="([^"]*)"', page)
    assert sorted(html.unescape(key) for key in keys) == sorted(noted)


def test_every_limit_the_routes_declare_has_a_name_in_words(app: Flask) -> None:
    from flask_limiter.util import get_qualified_name

    from app.extensions import limiter

    scopes = set()
    with app.test_request_context():
        for endpoint, view in app.view_functions.items():
            if endpoint.startswith("testing."):  # tests/routes.py, not the app's
                continue
            name = get_qualified_name(view)
            for limit in limiter.limit_manager.decorated_limits(name):
                scope = limit.scope if limit.shared else endpoint
                assert isinstance(scope, str)
                scopes.add(scope)

    assert {"auth.login_submit", "mail-links", "account-password-checks"} <= scopes
    assert scopes - set(throttles_service.LIMIT_NAMES) == set()


def test_clearing_says_it_reached_only_this_worker_when_limits_are_in_memory(
    app: Flask, client: FlaskClient, admin: User
) -> None:
    # memory:// (as `make run` with its two workers, and these tests): another
    # worker's count of that client stays, so "may try again now" was not so.
    key = "LIMITER/vestibule/203.0.113.9/auth.reset/10/1/hour"  # listed as is
    with app.app_context():
        throttles_service.note_refusal(
            key, "203.0.113.9", "auth.reset", "10 per 1 hour"
        )
        db.session.remove()
    page = client.get("/admin/abuse")
    assert "in the worker that answers only" in page.get_data(as_text=True)

    response = client.post(
        "/admin/abuse/clear-limit", data={"key": key, "csrf_token": csrf_from(page)}
    )

    answer = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "That client may try again now in this worker; with limits kept in " in (
        html.unescape(answer)
    )
    assert "each worker counts its own" in html.unescape(answer)


@pytest.mark.redis
@pytest.mark.parametrize(
    "app_config",
    [{"ADMIN_PAGE_SIZE": 2, "RATELIMIT_STORAGE_URI": TEST_REDIS_URL or "unset"}],
    ids=["redis"],
)
def test_clearing_with_limits_in_redis_lets_the_client_try_again_everywhere(
    app: Flask, client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    import uuid

    member = make_user(email=f"{uuid.uuid4().hex}@example.com")  # new in Redis
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.24"
    for _ in range(5):
        assert sign_in(guesser, member.email, "a wrong guess").status_code == 401
    assert sign_in(guesser, member.email, "a wrong guess").status_code == 429
    page = client.get("/admin/abuse")
    assert "worker" not in page.get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page.get_data(as_text=True))
    assert key is not None

    response = client.post(
        "/admin/abuse/clear-limit",
        data={"key": html.unescape(key[1]), "csrf_token": csrf_from(page)},
    )

    answer = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "That client may try again now." in answer
    assert "worker" not in answer
    assert sign_in(guesser, member.email, "a wrong guess").status_code == 401


def test_a_confirmation_page_keeps_the_menu_at_accounts(
    client: FlaskClient, admin: User, make_user: Callable[..., User]
) -> None:
    member = make_user(name="Dora Doe", email="dora@example.org")

    page = client.get(f"/admin/users/{member.id}/deactivate").get_data(as_text=True)

    menu = page.split('class="settings-menu"')[1].split("</nav>")[0]
    assert '<a href="/admin/users" aria-current="page">Accounts</a>' in menu
