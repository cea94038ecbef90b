"""E-mail verification: the mailed link, confirmed, proves the address and signs in."""

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


def confirm(client, link):
    """Open the link and press "Confirm my address", as the browser that signed up."""
    return submit(client, link, {})


def account(app, email=EMAIL):
    """The account with the address, or None while nobody holds it."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).first()
        db.session.remove()
    return user


def is_verified(app, email=EMAIL):
    user = account(app, email)
    return user is not None and user.email_verified_at is not None


def is_signed_in(client):
    return client.get("/users/").status_code == 200


def tampered(link):
    prefix, token = link.rsplit("/", 1)
    # change the signed payload, not the signature's padding bits
    flipped = "B" if token[5] != "B" else "C"
    return f"{prefix}/{token[:5]}{flipped}{token[6:]}"


def test_confirmed_verify_link_marks_the_address_verified(app, client, outbox):
    link = register(client, outbox)

    confirm(client, link)

    assert is_verified(app)


def test_confirmed_verify_link_signs_you_in(app, client, outbox):
    link = register(client, outbox)

    response = confirm(client, link)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is not None
    assert "Hello, Ada Lovelace" in client.get("/").get_data(as_text=True)


def test_tampered_verify_link_is_refused_with_a_new_link_form(app, client, outbox):
    link = register(client, outbox)

    response = client.get(tampered(link))

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "not valid" in page
    assert 'action="/auth/verify/resend"' in page
    assert "Send a new link" in page
    assert not is_verified(app)
    assert not is_signed_in(client)


def test_verify_link_expires_after_48_hours(app, client, outbox, time_machine):
    time_machine.move_to(START, tick=False)
    link = register(client, outbox)

    time_machine.move_to(START + timedelta(hours=48, minutes=1), tick=False)
    response = client.get(link)

    assert response.status_code == 400
    assert "has expired" in response.get_data(as_text=True)
    assert not is_verified(app)
    assert not is_signed_in(client)


def test_verify_link_still_works_just_before_48_hours(
    app, client, outbox, time_machine
):
    time_machine.move_to(START, tick=False)
    link = register(client, outbox)

    time_machine.move_to(START + timedelta(hours=47, minutes=59), tick=False)
    confirm(client, link)

    assert is_verified(app)


def test_expired_link_page_mails_a_new_link_that_works(
    app, client, outbox, time_machine
):
    time_machine.move_to(START, tick=False)
    old_link = register(client, outbox)
    time_machine.move_to(START + timedelta(days=3), tick=False)

    submit(client, old_link, {"email": EMAIL}, action="/auth/verify/resend")

    new_link = link_in(outbox()[-1].body)
    assert new_link != old_link
    assert confirm(client, new_link).status_code == 302
    assert is_verified(app)


def test_verify_link_used_twice_says_already_verified_and_signs_nobody_in(
    app, client, outbox
):
    link = register(client, outbox)
    confirm(client, link)
    stranger = app.test_client()

    response = stranger.get(link, follow_redirects=True)

    assert "already verified" in response.get_data(as_text=True)
    assert stranger.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is None
    assert not is_signed_in(stranger)


def test_verify_link_opened_again_by_its_account_says_already_verified(
    app, client, outbox
):
    link = register(client, outbox)
    confirm(client, link)

    response = client.get(link, follow_redirects=True)

    assert "Your e-mail address is already verified." in response.get_data(as_text=True)
    assert is_signed_in(client)


def test_resend_mails_a_new_link_for_a_waiting_sign_up(app, client, outbox):
    register(client, outbox)

    response = resend(client, EMAIL)

    assert response.status_code == 302
    _, second = outbox()
    assert second.recipient == EMAIL
    assert "/auth/verify/" in link_in(second.body)
    assert confirm(client, link_in(second.body)).status_code == 302
    assert is_verified(app)


def test_a_new_link_voids_the_one_mailed_before_for_that_sign_up(app, client, outbox):
    first = register(client, outbox)

    assert resend(client, EMAIL).status_code == 302

    second = link_in(outbox()[-1].body)
    assert second != first
    opened = client.get(first)
    assert opened.status_code == 400
    assert "not valid" in opened.get_data(as_text=True)
    assert not is_verified(app) and not is_signed_in(client)
    assert confirm(client, second).status_code == 302
    assert is_verified(app)


def test_a_new_link_leaves_another_sign_ups_link_of_the_address_alone(
    app, client, outbox
):
    stranger = app.test_client()
    strangers = register(stranger, outbox)  # first, with someone else's address
    owners = register(client, outbox)

    resend(client, EMAIL)  # a new link for the newest sign-up, the owner's

    assert client.get(owners).status_code == 400
    assert confirm(stranger, strangers).status_code == 302
    assert is_verified(app)


def test_resend_answers_and_works_the_same_for_every_address(app, make_user, outbox):
    register(app.test_client(), outbox, email="unverified@example.com")
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
    # each address is mailed what it has; only the waiting sign-up gets a link
    mails = outbox()[1:]
    assert [mail.recipient for mail in mails] == list(answers)
    assert ["/auth/verify/" in mail.body for mail in mails] == [True, False, False]


def test_resend_with_an_invalid_address_shows_the_form_again(client, outbox):
    response = resend(client, "not an address")

    assert response.status_code == 422
    assert "Enter a valid e-mail address." in response.get_data(as_text=True)
    assert outbox() == []
