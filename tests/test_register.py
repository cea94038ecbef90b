"""Sign-up: a new account is unverified, mailed a link, and tells nobody who exists."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import SignUpClaim, User
from app.services.passwords import verify_password
from tests.conftest import link_in, snapshot, submit
from tests.test_profile import JOINED_NAMES, REFUSED_NAMES

STRONG = "plum orbit cascade lantern"
NAME = "Ada Lovelace"
EMAIL = "ada@example.com"
OTHER = "velvet harbour quince meadow"


def register(client, **fields):
    data = {"name": NAME, "email": EMAIL, "password": STRONG, "confirm": STRONG}
    return submit(client, "/auth/register", {**data, **fields})


def accounts_with(app, email):
    with app.app_context():
        found = list(db.session.scalars(select(User).where(User.email == email)))
        db.session.remove()
    return found


def account_count(app, model=User):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return count


def claims_for(app, email):
    with app.app_context():
        found = list(
            db.session.scalars(select(SignUpClaim).where(SignUpClaim.email == email))
        )
        db.session.remove()
    return found


def input_tag(page, name):
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    assert match, f"no {name} input on the page"
    return match.group(0)


def input_tag_error(page, name):
    match = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', page)
    assert match, f"no error shown for {name}"
    return match.group(1)


def typed_value(page, name):
    match = re.search(r'\bvalue="([^"]*)"', input_tag(page, name))
    return html.unescape(match.group(1)) if match else ""


def test_sign_up_sends_you_to_check_your_inbox(client):
    response = register(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/check-inbox"
    assert "Check your inbox" in client.get("/auth/check-inbox").get_data(as_text=True)


def test_sign_up_claims_the_normalised_address_without_creating_an_account(app, client):
    register(client, email="  Ada@Example.COM ")

    [claim] = claims_for(app, "ada@example.com")
    assert claim.name == NAME
    assert account_count(app) == 0


def test_sign_up_does_not_sign_you_in(app, client):
    register(client)

    assert client.get_cookie(app.config["SIGN_IN_COOKIE_NAME"]) is None
    assert client.get("/users/").status_code == 302


def test_signed_in_visit_to_sign_up_page_redirects_home(client, signed_in):
    response = client.get("/auth/register")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_signed_in_sign_up_post_redirects_home_and_signs_up_nobody(
    app, client, signed_in, outbox
):
    mails_before = len(outbox())
    data = {"name": NAME, "email": EMAIL, "password": STRONG, "confirm": STRONG}

    response = submit(client, "/", data, action="/auth/register")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert claims_for(app, EMAIL) == []
    assert len(outbox()) == mails_before
    assert signed_in.name in client.get("/").get_data(as_text=True)


def test_sign_up_mails_a_link_that_verifies_the_account(app, client, outbox):
    register(client, email="  Ada@Example.COM ")

    [mail] = outbox()
    assert mail.recipient == "ada@example.com"
    assert submit(client, link_in(mail.body), {}).status_code == 302
    [user] = accounts_with(app, "ada@example.com")
    assert user.name == NAME
    assert user.email_verified_at is not None


@pytest.mark.parametrize(
    "typed", ["ada@example.com", "ADA@Example.com", "  ada@example.com  "]
)
def test_signing_up_with_a_taken_email_looks_like_a_new_sign_up(
    app, client, make_user, typed
):
    make_user(email="ada@example.com")

    fresh = register(client, email="grace@example.com")
    taken = register(client, email=typed)

    assert (taken.status_code, taken.headers.get("Location")) == (
        fresh.status_code,
        fresh.headers.get("Location"),
    )
    assert len(accounts_with(app, "ada@example.com")) == 1


def test_signing_up_with_a_taken_email_mails_the_owner_a_notice(
    client, make_user, outbox
):
    make_user(email=EMAIL)

    register(client, email="Ada@Example.com")

    [mail] = outbox()
    assert mail.recipient == EMAIL
    assert "tried to sign up" in mail.subject
    assert "/auth/verify/" not in mail.body


def test_signing_up_with_a_taken_email_keeps_the_owners_password(
    app, client, make_user
):
    owner = make_user(email=EMAIL)

    register(client, email=EMAIL, password=STRONG, confirm=STRONG)

    [user] = accounts_with(app, EMAIL)
    assert user.password_hash == owner.password_hash


def test_signing_up_again_for_an_unverified_address_is_a_claim_of_its_own(
    app, client, outbox
):
    register(client)
    second = app.test_client()

    register(second, name="Grace Hopper", password=OTHER, confirm=OTHER)

    first_mail, second_mail = outbox()
    assert first_mail.recipient == second_mail.recipient == EMAIL
    assert link_in(first_mail.body) != link_in(second_mail.body)
    assert [claim.name for claim in claims_for(app, EMAIL)] == [NAME, "Grace Hopper"]
    assert account_count(app) == 0


def test_the_link_opened_decides_which_sign_up_becomes_the_account(app, client, outbox):
    register(client)
    second = app.test_client()
    register(second, name="Grace Hopper", password=OTHER, confirm=OTHER)

    submit(client, link_in(outbox()[0].body), {})

    [user] = accounts_with(app, EMAIL)
    assert user.name == NAME
    with app.app_context():
        assert verify_password(user.password_hash, STRONG)
        assert not verify_password(user.password_hash, OTHER)
    assert claims_for(app, EMAIL) == []
    # the other sign-up's link now says the address is taken
    stale = second.get(link_in(outbox()[1].body), follow_redirects=True)
    assert "already verified" in stale.get_data(as_text=True)


def test_a_long_passphrase_within_the_limit_is_accepted(app, client):
    passphrase = "plum orbit cascade lantern " * 9  # 243 characters

    response = register(client, password=passphrase, confirm=passphrase)

    assert response.status_code == 302
    assert len(claims_for(app, EMAIL)) == 1


LONG = ("plum orbit cascade lantern " * 10)[:257]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param(
            {"password": "password123", "confirm": "password123"},
            "very common password",
            id="common",
        ),
        pytest.param(
            {"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"},
            'Repeats like "aaa"',
            id="repeated",
        ),
        pytest.param(
            {"password": "Tr0ub4dor", "confirm": "Tr0ub4dor"},
            "Use at least 10 characters.",
            id="short",
        ),
        pytest.param(
            {"password": LONG, "confirm": LONG},
            "Use at most 256 characters.",
            id="long",
        ),
        pytest.param(
            {"password": STRONG, "confirm": STRONG + "!"},
            "The passwords do not match",
            id="mismatched",
        ),
        pytest.param(
            {
                "email": "ada.lovelace.1815@example.com",
                "password": "ada.lovelace.1815@example.com",
                "confirm": "ada.lovelace.1815@example.com",
            },
            "must not be your e-mail address",
            id="same-as-email",
        ),
    ],
)
def test_bad_password_is_refused_with_a_reason(app, client, outbox, fields, reason):
    response = register(client, **fields)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert reason in html.unescape(page)
    assert account_count(app) == account_count(app, SignUpClaim) == 0
    assert outbox() == []
    # what was typed comes back, except the passwords
    assert f'value="{NAME}"' in input_tag(page, "name")
    assert f'value="{fields.get("email", EMAIL)}"' in input_tag(page, "email")
    assert not typed_value(page, "password")
    assert not typed_value(page, "confirm")
    if "email" not in fields:
        assert fields["password"] not in page
        assert fields["confirm"] not in page


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada lovelace@example.com",
        "ada@@example.com",
        "a" * 250 + "@example.com",
    ],
)
def test_invalid_email_is_refused(app, client, email):
    response = register(client, email=email)

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "e-mail address" in input_tag_error(page, "email")
    assert account_count(app) == 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "Enter your name"), ("   ", "Enter your name"), ("A" * 81, "80 characters")],
)
def test_invalid_name_is_refused(app, client, name, reason):
    response = register(client, name=name)

    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert account_count(app) == 0


@pytest.mark.parametrize(
    ("name", "message"), REFUSED_NAMES.values(), ids=REFUSED_NAMES.keys()
)
def test_a_name_that_hides_or_flips_text_is_refused_at_sign_up(
    app, client, name, message
):
    before = snapshot(app)

    response = register(client, name=name)

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert input_tag_error(page, "name") == message
    assert snapshot(app) == before  # no claim, no mail
    assert typed_value(page, "name") == name  # kept, to be corrected


@pytest.mark.parametrize("name", JOINED_NAMES.values(), ids=JOINED_NAMES.keys())
def test_a_name_that_needs_a_joiner_signs_up(app, client, name):
    assert register(client, name=name).status_code == 302

    [claim] = claims_for(app, EMAIL)
    assert claim.name == name
