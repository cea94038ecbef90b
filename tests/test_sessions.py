"""Sessions: a random cookie backed by a server-side record that can end for good."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, event, text

from app.extensions import db
from app.models import User
from tests.conftest import csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD

NEW_PASSWORD = "plum orbit cascade lantern"
START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


def cookie_name(app):
    return app.config["SIGN_IN_COOKIE_NAME"]


def session_token(app, client):
    cookie = client.get_cookie(cookie_name(app))
    return cookie.value if cookie else None


def is_signed_in(client):
    return client.get("/users/").status_code == 200


def client_with_cookie(app, token):
    """A browser that has never been here, replaying a copied cookie."""
    replay = app.test_client()
    replay.set_cookie(cookie_name(app), token)
    return replay


def sign_out(client):
    return client.post("/auth/logout", data={"csrf_token": csrf_from(client.get("/"))})


def set_active(app, user, active):
    with app.app_context():
        db.session.get(User, user.id).is_active = active
        db.session.commit()
        db.session.remove()


def set_cookie_header(app, response):
    [header] = [
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith(cookie_name(app) + "=")
    ]
    return header


def test_every_sign_in_gets_a_new_sign_in_cookie(app, client, make_user):
    user = make_user()
    sign_in(client, user.email)
    first = session_token(app, client)
    sign_out(client)

    sign_in(client, user.email)

    second = session_token(app, client)
    assert first and second and first != second


def test_cookie_planted_before_sign_in_is_replaced_and_worthless(
    app, client, make_user
):
    user = make_user()
    client.set_cookie(cookie_name(app), "planted-by-an-attacker")

    sign_in(client, user.email)

    assert session_token(app, client) != "planted-by-an-attacker"
    assert not is_signed_in(client_with_cookie(app, "planted-by-an-attacker"))


def test_sign_in_cookie_is_http_only_and_same_site_lax(app, client, make_user):
    user = make_user()

    header = set_cookie_header(app, sign_in(client, user.email))

    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_copied_cookie_signs_in_while_the_session_lasts(app, client, signed_in):
    assert is_signed_in(client_with_cookie(app, session_token(app, client)))


def test_sign_out_ends_the_session(client, signed_in):
    response = sign_out(client)

    assert response.status_code == 302
    assert not is_signed_in(client)


def test_cookie_replayed_after_sign_out_is_anonymous(app, client, signed_in):
    token = session_token(app, client)

    sign_out(client)

    response = client_with_cookie(app, token).get("/users/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_opening_the_sign_out_address_asks_and_does_not_sign_out(client, signed_in):
    response = client.get("/auth/logout")

    assert response.status_code == 200
    assert is_signed_in(client)
    page = response.get_data(as_text=True)
    assert "<title>Sign out · Vestibule</title>" in page
    main = page.split('<main id="main">', 1)[1]  # not the header's own button
    assert signed_in.name in main
    assert re.search(
        r'<form method="post" action="/auth/logout">\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
        r'<button type="submit">Sign out</button>\s*</form>',
        main,
    )

    response = client.post("/auth/logout", data={"csrf_token": csrf_from(response)})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "You are signed out." in client.get("/").get_data(as_text=True)
    assert not is_signed_in(client)


def test_opening_the_sign_out_address_signed_out_leads_home(client):
    response = client.get("/auth/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_out_without_csrf_token_is_refused(client, signed_in):
    response = client.post("/auth/logout")

    assert response.status_code == 400
    assert is_signed_in(client)


def test_password_change_signs_out_every_other_session(app, client, signed_in):
    other = app.test_client()
    sign_in(other, signed_in.email)
    assert is_signed_in(other)

    response = submit(
        client,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert not is_signed_in(other)
    assert is_signed_in(client)


def test_password_reset_signs_out_every_session_elsewhere(
    app, client, make_user, outbox
):
    user = make_user()
    sign_in(client, user.email)
    assert is_signed_in(client)
    forgetful = app.test_client()

    submit(forgetful, "/auth/forgot", {"email": user.email})
    [reset_mail] = outbox()
    response = submit(
        forgetful,
        link_in(reset_mail.body),
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert not is_signed_in(client)
    assert sign_in(forgetful, user.email, NEW_PASSWORD).status_code == 302


def test_password_reset_keeps_the_session_that_made_it(app, make_user, outbox):
    user = make_user()
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, user.email)
    sign_in(elsewhere, user.email)

    submit(here, "/auth/forgot", {"email": user.email})
    [reset_mail] = outbox()
    submit(
        here,
        link_in(reset_mail.body),
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)


def test_remember_me_keeps_the_cookie_for_30_days(app, client, make_user):
    user = make_user()

    response = sign_in(client, user.email, remember=True)

    cookie = client.get_cookie(cookie_name(app))
    header = set_cookie_header(app, response)
    thirty_days = timedelta(days=30).total_seconds()
    assert cookie.max_age is not None
    assert abs(cookie.max_age - thirty_days) < 60
    assert "Expires=" in header
    assert abs(cookie.expires - datetime.now(UTC) - timedelta(days=30)) < timedelta(
        minutes=1
    )


def test_without_remember_me_the_cookie_ends_with_the_browser(app, client, make_user):
    user = make_user()

    response = sign_in(client, user.email)

    header = set_cookie_header(app, response)
    assert "Max-Age" not in header
    assert "Expires" not in header


def test_remembered_session_lasts_30_days_without_visits(
    app, client, make_user, time_machine
):
    time_machine.move_to(START, tick=False)
    user = make_user()
    sign_in(client, user.email, remember=True)
    token = session_token(app, client)

    time_machine.move_to(START + timedelta(days=29), tick=False)
    assert is_signed_in(client_with_cookie(app, token))

    time_machine.move_to(START + timedelta(days=30, minutes=1), tick=False)
    assert not is_signed_in(client_with_cookie(app, token))


def test_idle_session_expires(app, client, make_user, time_machine):
    time_machine.move_to(START, tick=False)
    user = make_user()
    sign_in(client, user.email)

    idle = app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1)
    time_machine.move_to(START + idle, tick=False)

    assert not is_signed_in(client)


def test_session_in_use_outlives_the_idle_timeout(app, client, make_user, time_machine):
    time_machine.move_to(START, tick=False)
    user = make_user()
    sign_in(client, user.email)
    idle_timeout = app.config["SESSION_IDLE_TIMEOUT"]
    visit = START + idle_timeout - timedelta(minutes=5)
    later = visit + idle_timeout - timedelta(minutes=5)
    assert later < START + app.config["SESSION_LIFETIME"]

    time_machine.move_to(visit, tick=False)
    assert is_signed_in(client)
    time_machine.move_to(later, tick=False)

    assert is_signed_in(client)


def test_session_ends_at_its_lifetime_even_when_in_use(
    app, client, make_user, time_machine
):
    time_machine.move_to(START, tick=False)
    user = make_user()
    sign_in(client, user.email)
    lifetime = app.config["SESSION_LIFETIME"]
    step = app.config["SESSION_IDLE_TIMEOUT"] - timedelta(minutes=5)

    moment = START
    while moment + step < START + lifetime:
        moment += step
        time_machine.move_to(moment, tick=False)
        assert is_signed_in(client)
    time_machine.move_to(START + lifetime + timedelta(minutes=1), tick=False)

    assert not is_signed_in(client)


def test_deactivated_user_is_anonymous_on_the_next_request(app, client, signed_in):
    set_active(app, signed_in, False)

    response = client.get("/users/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert signed_in.name not in client.get("/").get_data(as_text=True)


def test_reactivated_user_must_sign_in_again(app, client, signed_in):
    set_active(app, signed_in, False)
    client.get("/")
    set_active(app, signed_in, True)

    assert not is_signed_in(client)


@pytest.mark.parametrize("step", ["touch", "expiry"])
def test_a_session_ended_while_a_request_uses_it_leaves_that_request_anonymous(
    app, client, make_user, time_machine, step
):
    # Another browser's password change (say) deletes this session between this
    # request's lookup and its own write: the last-seen time, or the deletion of
    # the session it found expired.
    time_machine.move_to(START, tick=False)
    user = make_user()
    sign_in(client, user.email)
    later = {
        "touch": timedelta(minutes=5),
        "expiry": app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1),
    }[step]
    time_machine.move_to(START + later, tick=False)
    with app.app_context():
        engine = db.engine
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    ended = []

    def end_it_elsewhere(connection, cursor, statement, *args):
        write = statement.lstrip().upper().startswith(("UPDATE", "DELETE"))
        if write and "user_sessions" in statement and not ended:
            ended.append(statement)
            with other.begin() as elsewhere:
                elsewhere.execute(text("DELETE FROM user_sessions"))

    event.listen(engine, "before_cursor_execute", end_it_elsewhere)
    try:
        response = client.get("/account/profile")
    finally:
        event.remove(engine, "before_cursor_execute", end_it_elsewhere)
        other.dispose()

    assert ended, "the request wrote nothing to its session"
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
