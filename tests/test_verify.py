"""E-mail verification: the mailed link proves the address and signs its owner in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.conftest import link_in, submit

STRONG = "plum orbit cascade lantern"
EMAIL = "ada@example.com"
START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)


def register(client, outbox, email=EMAIL):
    """Sign up through the form; return the path of the mailed verify link."""
    data = {
        "name": "Ada Lovelace",
        "email": email,
        "password": STRONG,
        "confirm": STRONG,
    }
    assert submit(client, "/auth/register", data).status_code == 302
    return link_in(outbox()[-1].body)


def resend(client, email):
    """Ask for a new link from the form on the "this link does not work" page."""
    return submit(
        client,
        "/auth/verify/not-a-token",
        {"email": email},
        action="/auth/verify/resend",
    )


def account(app, email=EMAIL):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        db.session.remove()
    return user


def is_signed_in(client):
    return client.get("/users/").status_code == 200


def tampered(link):
    prefix, token = link.rsplit("/", 1)
    # change the signed payload, not the signature's padding bits
    flipped = "B" if token[5] != "B" else "C"
    return f"{prefix}/{token[:5]}{flipped}{token[6:]}"


def test_verify_link_marks_the_address_verified(app, client, outbox):
    link = register(client, outbox)

    client.get(link)

    assert account(app).email_verified_at is not None


def test_verify_link_signs_you_in(app, client, outbox):
    link = register(client, outbox)

    response = client.get(link)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get_cookie(app.config["AUTH_COOKIE_NAME"]) is not None
    assert "Hello, Ada Lovelace" in client.get("/").get_data(as_text=True)


def test_tampered_verify_link_is_refused_with_a_new_link_form(app, client, outbox):
    link = register(client, outbox)

    response = client.get(tampered(link))

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "not valid" in page
    assert 'action="/auth/verify/resend"' in page
    assert "Send a new link" in page
    assert account(app).email_verified_at is None
    assert not is_signed_in(client)


def test_verify_link_expires_after_48_hours(app, client, outbox, time_machine):
    time_machine.move_to(START, tick=False)
    link = register(client, outbox)

    time_machine.move_to(START + timedelta(hours=48, minutes=1), tick=False)
    response = client.get(link)

    assert response.status_code == 400
    assert "has expired" in response.get_data(as_text=True)
    assert account(app).email_verified_at is None
    assert not is_signed_in(client)


def test_verify_link_still_works_just_before_48_hours(
    app, client, outbox, time_machine
):
    time_machine.move_to(START, tick=False)
    link = register(client, outbox)

    time_machine.move_to(START + timedelta(hours=47, minutes=59), tick=False)
    client.get(link)

    assert account(app).email_verified_at is not None


def test_expired_link_page_mails_a_new_link_that_works(
    app, client, outbox, time_machine
):
    time_machine.move_to(START, tick=False)
    old_link = register(client, outbox)
    time_machine.move_to(START + timedelta(days=3), tick=False)

    submit(client, old_link, {"email": EMAIL}, action="/auth/verify/resend")

    new_link = link_in(outbox()[-1].body)
    assert new_link != old_link
    assert client.get(new_link).status_code == 302
    assert account(app).email_verified_at is not None


def test_verify_link_used_twice_says_already_verified_and_signs_nobody_in(
    app, client, outbox
):
    link = register(client, outbox)
    client.get(link)
    stranger = app.test_client()

    response = stranger.get(link, follow_redirects=True)

    assert "already verified" in response.get_data(as_text=True)
    assert stranger.get_cookie(app.config["AUTH_COOKIE_NAME"]) is None
    assert not is_signed_in(stranger)


def test_verify_link_of_a_deactivated_account_does_not_sign_in(app, client, outbox):
    link = register(client, outbox)
    with app.app_context():
        db.session.get(User, account(app).id).is_active = False
        db.session.commit()
        db.session.remove()

    response = client.get(link)

    assert response.status_code == 400
    assert not is_signed_in(client)


def test_resend_mails_a_new_link_to_an_unverified_account(client, make_user, outbox):
    make_user(email=EMAIL, email_verified_at=None)

    response = resend(client, EMAIL)

    assert response.status_code == 302
    [mail] = outbox()
    assert mail.recipient == EMAIL
    assert "/auth/verify/" in link_in(mail.body)


def test_resend_link_from_the_mail_verifies_the_account(app, client, make_user, outbox):
    make_user(email=EMAIL, email_verified_at=None)
    resend(client, EMAIL)

    client.get(link_in(outbox()[-1].body))

    assert account(app).email_verified_at is not None


def test_resend_answers_the_same_for_unknown_and_verified_addresses(
    app, make_user, outbox
):
    make_user(email="unverified@example.com", email_verified_at=None)
    make_user(email="verified@example.com")

    answers = {}
    for email in (
        "unverified@example.com",
        "verified@example.com",
        "nobody@example.com",
    ):
        response = resend(app.test_client(), email)
        answers[email] = (response.status_code, response.headers.get("Location"))

    assert len(set(answers.values())) == 1
    assert [mail.recipient for mail in outbox()] == ["unverified@example.com"]


def test_resend_with_an_invalid_address_shows_the_form_again(client, outbox):
    response = resend(client, "not an address")

    assert response.status_code == 422
    assert "Enter a valid e-mail address." in response.get_data(as_text=True)
    assert outbox() == []
