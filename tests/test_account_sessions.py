"""The sessions page and the security log page: a member sees and ends their own."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from time_machine import TimeMachineFixture

from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind, User, UserSession
from tests.conftest import sign_in, submit

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
REVOKE_RE = re.compile(r'action="(/account/sessions/(\d+)/revoke)"')
CURRENT_RE = re.compile(r'<li class="current">.*?</li>', re.S)
FIRST_SESSION_RE = re.compile(
    r'<ul class="sessions">\s*<li( class="current")?>.*?</li>', re.S
)


def browser(app: Flask, user_agent: str, ip: str = "198.51.100.7") -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)
    return client


def sessions_page(client: FlaskClient) -> str:
    response = client.get("/account/sessions")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/account/sessions").status_code == 200


def signed_in_twice(app: Flask, user: User) -> tuple[FlaskClient, FlaskClient]:
    """A laptop and a phone, both signed in as the member."""
    laptop, phone = browser(app, CHROME), browser(app, IPHONE)
    for client in (laptop, phone):
        assert sign_in(client, user.email).status_code == 302
    return laptop, phone


def session_ids(app: Flask, user_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(UserSession.id).where(UserSession.user_id == user_id)
            )
        )


def test_each_browser_lists_both_sessions_and_marks_its_own(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user()
    laptop, phone = browser(app, CHROME), browser(app, IPHONE, "203.0.113.9")
    for client in (laptop, phone):
        assert sign_in(client, user.email).status_code == 302

    on_laptop, on_phone = sessions_page(laptop), sessions_page(phone)

    for page in (on_laptop, on_phone):
        assert "Chrome 131 on Linux" in page
        assert "Mobile Safari 17 on iOS" in page
        assert "203.0.113.9" in page and "198.51.100.7" in page
    assert "Chrome 131 on Linux" in CURRENT_RE.search(on_laptop).group(0)
    assert "Mobile Safari 17 on iOS" in CURRENT_RE.search(on_phone).group(0)
    # only the other session has an end button
    assert len(REVOKE_RE.findall(on_laptop)) == 1


def test_this_browser_is_listed_first_even_when_another_was_seen_since(
    app: Flask, make_user: Callable[..., User], time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(datetime(2026, 12, 5, 7, 24, tzinfo=UTC), tick=False)
    user = make_user()
    laptop, phone = browser(app, CHROME), browser(app, IPHONE)
    assert sign_in(laptop, user.email).status_code == 302
    time_machine.shift(30)  # the phone signs in later: the most recently seen
    assert sign_in(phone, user.email).status_code == 302

    first = FIRST_SESSION_RE.search(sessions_page(laptop))

    assert first is not None
    assert first.group(1) is not None  # the current one
    assert "Chrome 131 on Linux" in first.group(0)
    assert "This browser" in first.group(0)


@pytest.mark.parametrize(
    ("signed_in_at", "exact"),
    [
        (datetime(2026, 12, 5, 7, 24, tzinfo=UTC), "5 December 2026, 08:24 CET"),
        (datetime(2026, 7, 5, 7, 24, tzinfo=UTC), "5 July 2026, 09:24 CEST"),
    ],
    ids=["winter", "summer"],
)
def test_a_member_in_berlin_sees_session_times_in_berlin_time_named(
    app: Flask,
    make_user: Callable[..., User],
    time_machine: TimeMachineFixture,
    signed_in_at: datetime,
    exact: str,
) -> None:
    time_machine.move_to(signed_in_at, tick=False)
    user = make_user(time_zone="Europe/Berlin", time_zone_chosen=True)
    laptop = browser(app, CHROME)
    assert sign_in(laptop, user.email, remember=True).status_code == 302

    time_machine.shift(timedelta(minutes=2, seconds=10))
    recent = sessions_page(laptop)
    time_machine.shift(timedelta(days=2))
    older = sessions_page(laptop)

    iso = signed_in_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<time datetime="{iso}" title="{exact}">2 minutes ago</time>' in recent
    assert f'<time datetime="{iso}" title="{exact}">{exact}</time>' in older
    assert "UTC" not in recent


def test_ending_the_other_session_signs_that_browser_out_at_once(
    app: Flask, make_user: Callable[..., User]
) -> None:
    laptop, phone = signed_in_twice(app, make_user())
    action = REVOKE_RE.search(sessions_page(laptop)).group(1)

    response = submit(laptop, "/account/sessions", {}, action)

    assert response.status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)
    assert "Mobile Safari" not in sessions_page(laptop)


def test_nobody_can_end_another_members_session(
    app: Flask, make_user: Callable[..., User]
) -> None:
    owner, stranger = make_user(), make_user()
    victim, attacker = browser(app, CHROME), browser(app, IPHONE)
    assert sign_in(victim, owner.email).status_code == 302
    assert sign_in(attacker, stranger.email).status_code == 302
    (victims_session,) = session_ids(app, owner.id)

    action = f"/account/sessions/{victims_session}/revoke"
    response = submit(attacker, "/account/sessions", {}, action)

    assert response.status_code == 404
    assert is_signed_in(victim)


def test_unknown_and_absurd_session_ids_are_not_found(
    client: FlaskClient, signed_in: User
) -> None:
    for session_id in (0, 999_999, 2**40):
        action = f"/account/sessions/{session_id}/revoke"
        assert submit(client, "/account/sessions", {}, action).status_code == 404


def test_ending_the_current_session_from_the_list_signs_this_browser_out(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    (current,) = session_ids(app, signed_in.id)

    action = f"/account/sessions/{current}/revoke"
    response = submit(client, "/account/sessions", {}, action)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/login")
    assert not is_signed_in(client)


def test_signing_out_every_other_browser_keeps_this_one(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user()
    clients = [browser(app, CHROME), browser(app, IPHONE), browser(app, "curl/8.5")]
    for client in clients:
        assert sign_in(client, user.email).status_code == 302

    response = submit(clients[0], "/account/sessions", {}, REVOKE_OTHERS)

    assert response.status_code == 302
    assert [is_signed_in(client) for client in clients] == [True, False, False]


REVOKE_OTHERS = "/account/sessions/revoke-others"


def test_ending_a_session_needs_the_pages_csrf_token(
    app: Flask, make_user: Callable[..., User]
) -> None:
    laptop, phone = signed_in_twice(app, make_user())
    action = REVOKE_RE.search(sessions_page(laptop)).group(1)

    assert laptop.post(action).status_code == 400
    assert laptop.post(REVOKE_OTHERS).status_code == 400
    assert is_signed_in(phone)


def test_sessions_past_their_idle_timeout_or_lifetime_are_not_listed(
    app: Flask, make_user: Callable[..., User], time_machine
) -> None:
    user = make_user()
    start = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
    time_machine.move_to(start)
    idle, busy, remembered = (browser(app, ua) for ua in (IPHONE, CHROME, "curl/8.5"))
    assert sign_in(idle, user.email).status_code == 302
    assert sign_in(busy, user.email).status_code == 302
    assert sign_in(remembered, user.email, remember=True).status_code == 302

    time_machine.move_to(start + timedelta(hours=11))
    assert is_signed_in(busy)
    time_machine.move_to(start + timedelta(hours=13))
    after_idle_timeout = sessions_page(remembered)
    time_machine.move_to(start + timedelta(hours=22))
    assert is_signed_in(busy)
    time_machine.move_to(start + timedelta(hours=25))
    after_lifetime = sessions_page(remembered)

    # 12 hours idle ends a session; a day ends one in use
    assert "Mobile Safari" not in after_idle_timeout
    assert "Chrome 131" in after_idle_timeout
    assert "Chrome 131" not in after_lifetime
    assert "curl 8" in after_lifetime


def test_the_security_log_shows_the_members_own_events_newest_first(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user, other = make_user(), make_user()
    mine, theirs = browser(app, CHROME), browser(app, IPHONE, "203.0.113.66")
    assert sign_in(theirs, other.email).status_code == 302
    assert sign_in(mine, user.email, "not the password").status_code == 401
    assert sign_in(mine, user.email).status_code == 302

    page = mine.get("/account/security").get_data(as_text=True)

    assert page.index("Signed in") < page.index("Failed sign-in")
    assert "Chrome 131 on Linux" in page and "198.51.100.7" in page
    assert "203.0.113.66" not in page and "Mobile Safari" not in page


def test_the_security_log_pages_by_twenty(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    with app.app_context():  # 45 events on top of the sign-in's
        db.session.add_all(
            SecurityEvent(user_id=signed_in.id, kind=SecurityEventKind.SIGN_IN)
            for _ in range(45)
        )
        db.session.commit()

    first = client.get("/account/security").get_data(as_text=True)
    last = client.get("/account/security?page=999").get_data(as_text=True)

    assert first.count("<time ") == 20 and "Page 1 of 3" in first
    assert last.count("<time ") == 6 and "Page 3 of 3" in last


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}], ids=["behind a proxy"])
def test_a_forwarded_address_that_is_no_ip_is_stored_as_unknown(
    app: Flask, make_user: Callable[..., User]
) -> None:
    user = make_user()
    client = browser(app, CHROME)
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "<img src=x onerror=alert(1)>"

    assert sign_in(client, user.email).status_code == 302

    with app.app_context():
        stored = db.session.scalars(
            select(UserSession.ip).where(UserSession.user_id == user.id)
        ).all()
        db.session.remove()
    assert stored == [""]
    assert "IP unknown" in sessions_page(client)
