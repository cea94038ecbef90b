"""The operator commands: `flask users ...` and `flask mail requeue`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from flask import Flask
from sqlalchemy import func, select

from app.cli.parameters import checked_text
from app.extensions import db
from app.models import SecurityEvent, SecurityEventKind, SignUpClaim, User, UserSession
from tests.conftest import link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD
from tests.test_profile import JOINED_NAMES, REFUSED_NAMES
from tests.two_factor import turn_on


def run(app: Flask, *args: str, stdin: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def stored(app: Flask, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).first()
        if user is not None:
            db.session.expunge(user)
        db.session.remove()
    return user


def session_count(app: Flask, user_id: int) -> int:
    with app.app_context():
        found = db.session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user_id)
        )
        db.session.remove()
    return found or 0


def test_create_admin_makes_a_verified_admin_who_can_sign_in(app, client):
    result = run(
        app,
        "users",
        "create-admin",
        " Boss@Example.com ",
        "--name",
        "The Boss",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output
    admin = stored(app, "boss@example.com")
    assert admin is not None
    assert (admin.name, admin.is_admin, admin.is_active) == ("The Boss", True, True)
    assert admin.email_verified_at is not None
    assert PASSWORD not in admin.password_hash
    assert sign_in(client, "boss@example.com").status_code == 302
    assert "The Boss" in client.get("/").get_data(as_text=True)


def test_create_admin_reads_password_from_prompt(app, client):
    result = run(
        app,
        "users",
        "create-admin",
        "prompted@example.com",
        "--name",
        "Prompted",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert sign_in(client, "prompted@example.com").status_code == 302


def test_create_admin_refuses_a_weak_password(app):
    result = run(
        app,
        "users",
        "create-admin",
        "weak@example.com",
        "--name",
        "Weak",
        "--password-stdin",
        stdin="password123\n",
    )

    assert result.exit_code != 0
    assert "Error" in result.output
    assert "Traceback" not in result.output
    assert stored(app, "weak@example.com") is None


def test_create_admin_refuses_an_invalid_address(app):
    result = run(
        app,
        "users",
        "create-admin",
        "not-an-address",
        "--name",
        "Nobody",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code != 0
    assert stored(app, "not-an-address") is None


def test_create_admin_promotes_an_existing_account_asking_nothing(app, make_user):
    member = make_user(email="member@example.com")

    # no --name and nothing on standard input: a prompt would fail the command
    result = run(app, "users", "create-admin", "member@example.com")

    assert result.exit_code == 0, result.output
    assert "Password" not in result.output
    assert f"it keeps its name ({member.name}) and password" in result.output
    promoted = stored(app, "member@example.com")
    assert promoted is not None and promoted.is_admin
    assert promoted.password_hash == member.password_hash


def test_create_admin_of_a_deactivated_account_says_how_it_signs_in(app, make_user):
    make_user(email="gone@example.com", is_active=False)

    result = run(app, "users", "create-admin", "gone@example.com")

    assert result.exit_code == 0, result.output
    assert "It is deactivated: `flask users activate gone@example.com`" in result.output


def test_create_admin_of_a_new_address_needs_a_name(app):
    result = run(app, "users", "create-admin", "new@example.com")

    assert result.exit_code == 1
    assert "give --name to create one" in result.output
    assert stored(app, "new@example.com") is None


def test_a_squatters_sign_up_for_the_address_does_not_become_the_admin(app, outbox):
    # Anyone can sign up with the operator's address first; that must not win admin.
    squatter = app.test_client()
    form = {"name": "Squatter", "email": "boss@example.com"}
    form["password"] = form["confirm"] = "squatter owns this place"
    assert submit(squatter, "/auth/register", form).status_code == 302
    link = link_in(outbox()[-1].body)

    result = run(
        app,
        "users",
        "create-admin",
        "boss@example.com",
        "--name",
        "Boss",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert squatter.get(link).status_code == 302  # too late: "already verified"
    boss = stored(app, "boss@example.com")
    assert boss is not None and boss.is_admin and boss.name == "Boss"
    assert sign_in(app.test_client(), "boss@example.com").status_code == 302
    # answered as a sign-up's password always is ("not verified yet"), never signed in
    refused = sign_in(squatter, "boss@example.com", form["password"])
    assert refused.status_code == 403
    assert "not verified yet" in refused.get_data(as_text=True)


def test_users_list_prints_every_account_and_no_hash(app, make_user):
    make_user(name="Listed Lena", email="lena@example.com")
    make_user(name="Gone Gary", email="gary@example.com", is_active=False)
    make_user(name="Boss Bea", email="bea@example.com", is_admin=True)

    result = run(app, "users", "list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3
    by_email = {line.split("\t")[1]: line for line in lines}
    assert "Listed Lena" in by_email["lena@example.com"]
    assert "inactive" in by_email["gary@example.com"]
    assert "admin" in by_email["bea@example.com"]
    assert "argon2" not in result.output


def test_users_list_filters_and_speaks_json(app, make_user):
    make_user(name="Listed Lena", email="lena@example.com")
    make_user(name="Gone Gary", email="gary@example.com", is_active=False)

    result = run(app, "users", "list", "--filter", "inactive", "--json")

    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in result.output.splitlines()]
    assert record["email"] == "gary@example.com" and record["active"] is False
    assert "password_hash" not in record


def test_users_list_refuses_an_unknown_filter(app):
    result = run(app, "users", "list", "--filter", "everyone")

    assert result.exit_code == 2
    assert "everyone" in result.output


def test_purge_unverified_deletes_only_old_sign_ups(
    app, make_user, outbox, time_machine
):
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    old_member = make_user(email="old@example.com")
    for email in ("stale@example.com", "old@example.com"):
        form = {"name": "Someone", "email": email}
        form["password"] = form["confirm"] = "a sign-up waits for its link"
        assert submit(app.test_client(), "/auth/register", form).status_code == 302
    time_machine.move_to(start + timedelta(days=6), tick=False)
    form = {"name": "Fresh", "email": "fresh@example.com"}
    form["password"] = form["confirm"] = "a sign-up waits for its link"
    assert submit(app.test_client(), "/auth/register", form).status_code == 302
    fresh_link = link_in(outbox()[-1].body)
    time_machine.move_to(start + timedelta(days=8), tick=False)

    result = run(app, "users", "purge-unverified", "--older-than", "7d")

    assert result.exit_code == 0, result.output
    # the sign-up for old@'s held address waits as a claim too, with no link mailed
    assert "2 sign-up(s) deleted" in result.output
    with app.app_context():
        left = db.session.scalars(select(SignUpClaim.email)).all()
        db.session.remove()
    assert left == ["fresh@example.com"]
    assert stored(app, old_member.email) is not None
    browser = app.test_client()
    form = {"password": "a sign-up waits for its link"}
    assert submit(browser, fresh_link, form).status_code == 302  # still confirms


@pytest.mark.parametrize("duration", ["7", "seven days", "7y", "-7d", ""])
def test_purge_unverified_refuses_a_duration_it_cannot_read(app, duration):
    result = run(app, "users", "purge-unverified", "--older-than", duration)

    assert result.exit_code == 2
    assert "is not a duration" in result.output


def test_users_deactivate_signs_the_user_out_everywhere(app, client, make_user):
    user = make_user(name="Doomed Dora")
    other_browser = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    assert sign_in(other_browser, user.email).status_code == 302
    assert "Doomed Dora" in client.get("/").get_data(as_text=True)

    result = run(app, "users", "deactivate", user.email)

    assert result.exit_code == 0, result.output
    assert stored(app, user.email).is_active is False
    assert session_count(app, user.id) == 0
    for browser in (client, other_browser):
        landing = browser.get("/").get_data(as_text=True)
        assert "Doomed Dora" not in landing
        assert 'href="/auth/login"' in landing
        assert browser.get("/users/").status_code == 302


def test_deactivated_user_cannot_sign_in_again(app, client, make_user):
    user = make_user()
    run(app, "users", "deactivate", user.email)

    response = sign_in(client, user.email)

    assert response.status_code != 302
    assert client.get("/users/").status_code == 302


@pytest.mark.parametrize("command", ["deactivate", "activate", "disable-two-factor"])
def test_users_commands_refuse_an_unknown_address_in_one_line(app, command):
    result = run(app, "users", command, "nobody@example.com")

    assert result.exit_code == 1
    assert result.output == "Error: No account has the address nobody@example.com.\n"


def test_users_activate_lets_a_deactivated_account_sign_in_again(
    app, client, make_user
):
    make_user(is_admin=True)  # another admin, or Dora could not be deactivated
    user = make_user(email="dora@example.com", is_admin=True)
    assert run(app, "users", "deactivate", user.email).exit_code == 0
    assert sign_in(client, user.email).status_code == 403

    result = run(app, "users", "activate", " Dora@Example.com ")

    assert result.exit_code == 0, result.output
    assert result.output == "dora@example.com can sign in again.\n"
    assert stored(app, user.email).is_active is True
    assert sign_in(client, user.email).status_code == 302
    assert client.get("/admin/users").status_code == 200  # an admin as before
    with app.app_context():
        logged = db.session.execute(
            select(SecurityEvent.kind, SecurityEvent.actor_id)
            .where(SecurityEvent.user_id == user.id)
            .order_by(SecurityEvent.id)
        ).all()
        db.session.remove()
    # as `users deactivate` writes it: the event, and no admin of the site as actor
    assert logged[-3:] == [
        (SecurityEventKind.DEACTIVATED, None),
        (SecurityEventKind.ACTIVATED, None),
        (SecurityEventKind.SIGN_IN, None),
    ]


def test_users_activate_says_when_the_account_is_active_already(app, make_user):
    user = make_user(email="busy@example.com")
    before = snapshot(app)

    result = run(app, "users", "activate", user.email)

    assert result.exit_code == 0, result.output
    assert result.output == "busy@example.com is active already; nothing changed.\n"
    assert snapshot(app) == before  # no second "activated" in its security log


def test_users_disable_two_factor_locks_the_password_and_mails_the_owner_a_reset(
    app, client, make_user, outbox
):
    user = make_user(email="lou@example.com")
    assert sign_in(client, user.email).status_code == 302
    turn_on(client)  # by someone who knew the password, say
    owner = app.test_client()
    assert sign_in(owner, user.email).headers["Location"].endswith("/auth/two-factor")

    result = run(app, "users", "disable-two-factor", " Lou@Example.com ")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Two-factor sign-in is off for lou@example.com; its sessions are ended, its "
        "password no longer works and its owner was mailed a link to set a new one."
    ]
    assert stored(app, user.email).totp_secret is None
    assert session_count(app, user.id) == 0
    assert client.get("/account/profile").status_code == 302  # signed out
    # whoever turned it on knew the password: it no longer signs in
    assert sign_in(owner, user.email).status_code == 401
    mails = [mail for mail in outbox() if mail.recipient == user.email]
    assert [mail.subject for mail in mails[-2:]] == [
        "Two-factor sign-in is now off",
        "Reset your password",
    ]
    new_password = "quiet lantern harbour nineteen"
    data = {"password": new_password, "confirm": new_password}
    assert submit(owner, link_in(mails[-1].body), data).status_code == 302
    assert sign_in(owner, user.email, new_password).headers["Location"] == "/"
    assert owner.get("/account/profile").status_code == 200
    with app.app_context():
        logged = db.session.execute(
            select(SecurityEvent.kind, SecurityEvent.actor_id)
            .where(SecurityEvent.user_id == user.id)
            .order_by(SecurityEvent.id)
        ).all()
        db.session.remove()
    # the CLI acts as no admin of the site: no actor, as `users deactivate`
    assert (SecurityEventKind.TWO_FACTOR_OFF_BY_ADMIN, None) in logged
    assert logged[-1] == (SecurityEventKind.SIGN_IN, None)


def test_users_disable_two_factor_says_when_it_is_off_already(app, make_user):
    user = make_user(email="plain@example.com")
    before = snapshot(app)

    result = run(app, "users", "disable-two-factor", user.email)

    assert result.exit_code == 1
    assert result.output == (
        "Error: plain@example.com does not have two-factor sign-in on; "
        "nothing changed.\n"
    )
    assert snapshot(app) == before


# -- found in review ------------------------------------------------------------


@pytest.mark.parametrize("duration", ["999999d", "999999w"])
def test_purge_unverified_refuses_a_duration_before_year_one_in_one_line(app, duration):
    # Today: a traceback ending "OverflowError: date value out of range", status 1.
    result = run(app, "users", "purge-unverified", "--older-than", duration)

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, OverflowError)


@pytest.mark.parametrize(
    "email",
    [
        "root@localhost",
        "a b@example.com",
        "x@@example.com",
        "ada@example",
        '"a b"@example.com',
        "ada@[127.0.0.1]",
        "a" * 250 + "@example.com",
    ],
)
def test_create_admin_refuses_an_address_the_sign_in_form_refuses(app, client, email):
    # Such an admin could never sign in: the sign-in form does not take the address.
    refused = sign_in(client, email)
    assert refused.status_code == 422
    assert "Enter a valid e-mail address." in refused.get_data(as_text=True)

    result = run(
        app,
        "users",
        "create-admin",
        email,
        "--name",
        "Root",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1  # one line
    assert result.output.startswith("Error: ")
    assert "is not an e-mail address" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.session.remove()


def test_create_admin_takes_an_address_written_as_the_forms_take_it(app, client):
    # Spaces around and fullwidth letters are tidied, as the sign-in form does.
    result = run(
        app,
        "users",
        "create-admin",
        " \uff22\uff2f\uff33\uff33@Example.com ",  # fullwidth BOSS
        "--name",
        "The Boss",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert sign_in(client, "boss@example.com").status_code == 302


@pytest.mark.parametrize(
    ("name", "message"), REFUSED_NAMES.values(), ids=REFUSED_NAMES.keys()
)
def test_create_admin_refuses_a_name_that_hides_or_flips_text(app, name, message):
    result = run(
        app,
        "users",
        "create-admin",
        "boss@example.com",
        "--name",
        name,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {message}\n"
    assert stored(app, "boss@example.com") is None


@pytest.mark.parametrize("name", ["Ada\x00", "\x1b[31mAda", "Ada\x7f"])
def test_create_admin_refuses_a_name_with_control_characters(app, name):
    # The web forms refuse these before the name is read; the CLI has no form.
    result = run(
        app,
        "users",
        "create-admin",
        "boss@example.com",
        "--name",
        name,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 1, result.output
    assert "invisible, control or text-direction characters" in result.output
    assert stored(app, "boss@example.com") is None


@pytest.mark.parametrize("name", JOINED_NAMES.values(), ids=JOINED_NAMES.keys())
def test_create_admin_takes_a_name_that_needs_a_joiner(app, name):
    result = run(
        app,
        "users",
        "create-admin",
        "boss@example.com",
        "--name",
        name,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    assert stored(app, "boss@example.com").name == name


# -- bytes that are not UTF-8 ----------------------------------------------------------

# How click hands on an undecodable byte of the command line (b"\xff").
UNDECODABLE = "\udcff"


@pytest.mark.parametrize(
    "args",
    [
        ["deactivate", f"{UNDECODABLE}@example.com"],
        ["activate", f"{UNDECODABLE}@example.com"],
        ["disable-two-factor", f"{UNDECODABLE}@example.com"],
        ["create-admin", f"{UNDECODABLE}@example.com"],
        ["create-admin", f"{UNDECODABLE}@example.com", "--name", "Boss"],
        ["create-admin", "boss@example.com", "--name", f"Bad{UNDECODABLE}Name"],
    ],
    ids=["deactivate", "activate", "disable-two-factor", "promote", "create", "name"],
)
def test_users_commands_refuse_undecodable_bytes_in_one_line(app, make_user, args):
    make_user(email="boss@example.com", is_admin=True)  # no account is touched
    before = snapshot(app)

    result = run(app, "users", *args, stdin=PASSWORD + "\n")

    assert result.exit_code == 1, result.output
    what = "--name" if "--name" in args and "Bad" in args[-1] else "EMAIL"
    assert result.output == (
        f"Error: {what} holds bytes that are not UTF-8 text; nothing changed.\n"
    )
    assert snapshot(app) == before


def test_create_admin_refuses_a_password_on_stdin_that_is_not_utf8(app):
    command = ["users", "create-admin", "boss@example.com", "--name", "Boss"]
    result = app.test_cli_runner().invoke(
        args=[*command, "--password-stdin"], input=b"pass\xffword lantern orchard\n"
    )

    assert result.exit_code == 1, result.output
    assert result.output == (
        "Error: The password on standard input holds bytes that are not UTF-8 "
        "text; nothing changed.\n"
    )
    assert stored(app, "boss@example.com") is None


def test_checked_text_refuses_lone_surrogates_whatever_stdin_decodes_to() -> None:
    # An escaping stdin (the C locale) hands on lone surrogates rather than failing.
    with pytest.raises(click.ClickException, match=r"^The password holds bytes"):
        checked_text(f"pass{UNDECODABLE}word", "The password")
    assert checked_text("pässword 🔑", "The password") == "pässword 🔑"
