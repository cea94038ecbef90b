"""Until an address is verified nobody holds it: the link that is opened decides."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import SignUpClaim, User, UserSession
from tests.conftest import link_in, sign_in, submit

OWNER = "owner@example.com"
STRANGERS_PASSWORD = "plum orbit cascade lantern"
OWNERS_PASSWORD = "velvet harbour quince meadow"


def sign_up(client, email=OWNER, name="Olga Owner", password=OWNERS_PASSWORD):
    data = {"name": name, "email": email, "password": password, "confirm": password}
    response = submit(client, "/auth/register", data)
    assert response.status_code == 302
    return response


def last_link(outbox, recipient=OWNER):
    mails = [mail for mail in outbox() if mail.recipient == recipient]
    return link_in(mails[-1].body)


def confirm(client, link, **fields):
    """Open the link, then press its button, as the person who got the mail."""
    return submit(client, link, fields)


def rows(app, model):
    with app.app_context():
        found = list(db.session.scalars(select(model)))
        db.session.remove()
    return found


def name_shown(client):
    return client.get("/users/me", follow_redirects=True).get_data(as_text=True)


def test_the_owners_sign_up_wins_over_a_strangers_earlier_one(app, outbox):
    stranger, owner = app.test_client(), app.test_client()
    sign_up(stranger, name="Mallory", password=STRANGERS_PASSWORD)
    sign_up(owner, name="Olga Owner", password=OWNERS_PASSWORD)

    confirmed = confirm(owner, last_link(outbox))

    assert confirmed.status_code == 302
    assert "Olga Owner" in name_shown(owner)
    assert sign_in(app.test_client(), OWNER, OWNERS_PASSWORD).status_code == 302
    assert sign_in(app.test_client(), OWNER, STRANGERS_PASSWORD).status_code == 401
    [user] = rows(app, User)
    assert user.name == "Olga Owner"
    assert rows(app, SignUpClaim) == []


def test_a_password_whose_link_was_never_opened_signs_nobody_in(app, outbox):
    stranger, owner = app.test_client(), app.test_client()
    sign_up(stranger, name="Mallory", password=STRANGERS_PASSWORD)

    before = sign_in(stranger, OWNER, STRANGERS_PASSWORD)
    sign_up(owner)
    confirm(owner, last_link(outbox))
    after = sign_in(stranger, OWNER, STRANGERS_PASSWORD)

    assert before.status_code == 403  # "confirm your address first", no session
    assert after.status_code == 401
    assert stranger.get("/users/").status_code == 302
    assert [row.user_id for row in rows(app, UserSession)] == [rows(app, User)[0].id]


def test_the_strangers_link_opened_by_the_owner_does_not_give_the_stranger_the_account(
    app, outbox
):
    stranger, owner = app.test_client(), app.test_client()
    sign_up(stranger, name="Mallory", password=STRANGERS_PASSWORD)
    strangers_link = last_link(outbox)
    sign_up(owner)

    refused = confirm(owner, strangers_link, password=OWNERS_PASSWORD)

    assert refused.status_code == 422
    assert "not the password chosen for this sign-up" in refused.get_data(as_text=True)
    assert rows(app, User) == []
    assert len(rows(app, SignUpClaim)) == 2


def test_opening_a_verify_link_with_get_changes_nothing(app, client, outbox):
    sign_up(client)
    scanner = app.test_client()

    for visitor in (scanner, client):
        page = visitor.get(last_link(outbox))
        assert page.status_code == 200
        assert "Confirm my address" in page.get_data(as_text=True)

    assert rows(app, User) == []
    assert scanner.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is None
    assert client.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is None


def test_the_browser_that_signed_up_confirms_with_one_press(app, client, outbox):
    sign_up(client)

    page = client.get(last_link(outbox)).get_data(as_text=True)
    response = confirm(client, last_link(outbox))

    assert 'type="password"' not in page
    assert response.headers["Location"] == "/"
    assert "Olga Owner" in name_shown(client)


def test_another_browser_is_signed_in_only_with_the_sign_ups_password(app, outbox):
    sign_up(app.test_client())
    phone = app.test_client()
    link = last_link(outbox)

    bare = confirm(phone, link)
    wrong = confirm(phone, link, password=STRANGERS_PASSWORD)
    assert (bare.status_code, wrong.status_code) == (422, 422)
    assert rows(app, User) == []

    right = confirm(phone, link, password=OWNERS_PASSWORD)

    assert right.status_code == 302
    assert "Olga Owner" in name_shown(phone)


def test_a_signed_in_member_who_confirms_someone_elses_link_stays_who_they_are(
    app, client, signed_in, outbox
):
    sign_up(app.test_client(), email="bob@example.com", name="Bob")
    link = last_link(outbox, "bob@example.com")

    page = client.get(link).get_data(as_text=True)
    refused = confirm(client, link)
    confirmed = confirm(client, link, password=OWNERS_PASSWORD)

    assert "You are signed in as" in page
    assert refused.status_code == 422
    assert confirmed.status_code == 302
    assert signed_in.name in name_shown(client)
    sessions = rows(app, UserSession)
    assert [session.user_id for session in sessions] == [signed_in.id]
    assert "bob@example.com" in [user.email for user in rows(app, User)]


HOSTILE_NAME = "Security team: your account is locked, unlock at https://evil.test/x"


def test_mail_to_an_unverified_address_carries_nothing_the_sign_up_typed(
    client, outbox
):
    sign_up(client, name=HOSTILE_NAME)
    submit(client, "/auth/verify/x", {"email": OWNER}, action="/auth/verify/resend")
    submit(client, "/auth/forgot", {"email": OWNER})

    mails = outbox()
    assert [mail.recipient for mail in mails] == [OWNER] * 3
    for mail in mails:
        assert "Security team" not in mail.body + mail.subject
        assert "evil.test" not in mail.body
        assert "Hello," in mail.body


@pytest.mark.parametrize(
    "spelling",
    [
        "A@EXAMPLE.COM",
        " a@example.com ",
        "a@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # fullwidth domain
        "\uff41@example.com",  # a fullwidth a
        "\uff21\uff20example.com",  # a fullwidth A and @
    ],
)
def test_every_spelling_of_one_mailbox_is_one_account(
    app, client, make_user, outbox, spelling
):
    make_user(email="a@example.com")

    sign_up(client, email=spelling)
    signed_in = sign_in(app.test_client(), spelling)
    submit(app.test_client(), "/auth/forgot", {"email": spelling})

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        db.session.remove()
    assert [claim.email for claim in rows(app, SignUpClaim)] == ["a@example.com"]
    assert signed_in.status_code == 302
    notice, reset = outbox()
    assert notice.recipient == reset.recipient == "a@example.com"
    assert "tried to sign up" in notice.subject
    assert "/auth/reset/" in reset.body


def test_a_unicode_domain_and_its_idna_form_are_one_address(app, client, outbox):
    sign_up(client, email="ada@bücher.de")
    confirm(client, link_in(outbox()[-1].body))

    sign_up(app.test_client(), email="ada@xn--bcher-kva.de")

    [user] = rows(app, User)
    assert user.email == "ada@xn--bcher-kva.de"
    assert "tried to sign up" in outbox()[-1].subject
