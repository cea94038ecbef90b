"""What passkeys leave on record: the security log, notice mails, the download,
nothing after deletion, the admin's list and removal, and a password reset."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import OutboxMail, Passkey, PasskeyChallenge, SecurityEvent, User
from tests.authenticator import Authenticator, b64url
from tests.conftest import csrf_from, link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD
from tests.passkeys import (
    TWO_FACTOR_SECRET,
    add_passkey,
    member_with_passkey,
    registration_options,
    second_step_options,
    sign_in_with_passkey,
    stored_passkeys,
    turn_on_two_factor,
)
from tests.two_factor import code_for

MakeUser = Callable[..., User]
Outbox = Callable[[], list[OutboxMail]]

ADDED = "A passkey was added to your account"
REMOVED = "A passkey was removed from your account"
ALERT = "A new sign-in to your Vestibule account"
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)
NEW_PASSWORD = "quiet lantern harbour nineteen"


def words_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def mails_to(outbox: Outbox, email: str, subject: str) -> list[OutboxMail]:
    return [m for m in outbox() if m.recipient == email and m.subject == subject]


def log_of(app: Flask, user: User) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(SecurityEvent.kind, SecurityEvent.actor_id)
            .where(SecurityEvent.user_id == user.id)
            .order_by(SecurityEvent.id)
        ).all()
        db.session.remove()
    return [(kind, actor) for kind, actor in rows]


def remove_own_passkey(client: FlaskClient, passkey: Passkey) -> Any:
    """Remove a passkey from the passkeys page, confirming as the member would."""
    page = client.get(f"/account/passkeys/{passkey.id}/remove")
    return client.post(
        f"/account/passkeys/{passkey.id}/remove", data={"csrf_token": csrf_from(page)}
    )


# -- the security log and the notices ------------------------------------------------


def test_adding_a_passkey_is_in_the_log_and_mailed_by_its_name(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    member = member_with_passkey(app, make_user, name="Work laptop")

    log = words_of(member.browser.get("/account/security"))
    assert "Added a passkey" in log
    [notice] = mails_to(outbox, member.user.email, ADDED)
    assert "“Work laptop”" in notice.body
    assert "/account/passkeys" in notice.body


def test_removing_a_passkey_is_in_the_log_and_mailed_by_its_name(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    member = member_with_passkey(app, make_user, name="Old phone")
    [passkey] = stored_passkeys(app, member.user)

    assert remove_own_passkey(member.browser, passkey).status_code == 302

    log = words_of(member.browser.get("/account/security"))
    assert "Removed a passkey" in log
    [notice] = mails_to(outbox, member.user.email, REMOVED)
    assert "“Old phone”" in notice.body
    assert "operator" not in notice.body
    assert ("passkey_removed", None) in log_of(app, member.user)


def test_a_passkey_sign_in_from_a_new_browser_mails_an_alert_and_is_in_the_log(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    member = member_with_passkey(app, make_user)
    elsewhere = app.test_client()
    elsewhere.environ_base.update(REMOTE_ADDR="203.0.113.66", HTTP_USER_AGENT=FIREFOX)

    assert sign_in_with_passkey(elsewhere, member.authenticator).status_code == 302

    [alert] = mails_to(outbox, member.user.email, ALERT)
    assert "203.0.113.66" in alert.body
    assert "Firefox" in alert.body
    log = words_of(member.browser.get("/account/security"))
    assert "Signed in with a passkey" in log
    assert "203.0.113.66" in log


def test_a_passkey_sign_in_from_a_known_browser_mails_no_alert(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    member = member_with_passkey(app, make_user)
    same_browser_later = app.test_client()

    assert (
        sign_in_with_passkey(same_browser_later, member.authenticator).status_code
        == 302
    )

    assert mails_to(outbox, member.user.email, ALERT) == []
    log = words_of(member.browser.get("/account/security"))
    assert "Signed in with a passkey" in log


# -- the download ----------------------------------------------------------------------


def encodings_of(data: bytes) -> list[str]:
    """Every way a download could spell these bytes."""
    return [
        b64url(data),
        base64.b64encode(data).decode(),
        base64.b64encode(data).decode().rstrip("="),
        data.hex(),
        data.hex().upper(),
    ]


def test_the_download_lists_passkeys_with_names_dates_and_flags_and_no_key(
    app: Flask, make_user: MakeUser
) -> None:
    member = member_with_passkey(app, make_user, name="Synced phone")
    device_bound = Authenticator(synced=False)
    assert (
        add_passkey(member.browser, device_bound, name="Security key").status_code
        == 302
    )
    assert (
        sign_in_with_passkey(app.test_client(), member.authenticator).status_code == 302
    )
    phone, key = stored_passkeys(app, member.user)
    assert phone.last_used_at is not None and key.last_used_at is None

    response = member.browser.get("/account/export")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    listed = json.loads(text)["passkeys"]
    assert listed == [
        {
            "name": "Synced phone",
            "created_at": phone.created_at.isoformat(),
            "last_used_at": phone.last_used_at.isoformat(),
            "synced": True,
            "backup_eligible": True,
            "transports": ["internal", "hybrid"],
            "authenticator_model": "00112233-4455-6677-8899-aabbccddeeff",
        },
        {
            "name": "Security key",
            "created_at": key.created_at.isoformat(),
            "last_used_at": None,
            "synced": False,
            "backup_eligible": False,
            "transports": ["internal", "hybrid"],
            "authenticator_model": "00112233-4455-6677-8899-aabbccddeeff",
        },
    ]
    key_material: list[str] = []
    for passkey in (phone, key):
        key_material += encodings_of(passkey.credential_id)
        key_material += encodings_of(passkey.public_key)
    for credential in (*member.authenticator.credentials, *device_bound.credentials):
        public = credential.key.public_key()
        key_material += encodings_of(
            public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        )
        key_material += encodings_of(public.public_numbers().x.to_bytes(32, "big"))
    assert [found for found in key_material if found in text] == []
    assert not re.search(r"public_key|credential_id|sign_count", text)


# -- deleting the account --------------------------------------------------------------


def test_deleting_the_account_leaves_no_passkey_or_challenge_of_it(
    app: Flask, make_user: MakeUser
) -> None:
    member = member_with_passkey(app, make_user)
    # ceremonies under way: adding another passkey here, a second step elsewhere
    assert registration_options(member.browser).status_code == 200
    turn_on_two_factor(app, member.user)
    elsewhere = app.test_client()
    assert sign_in(elsewhere, member.user.email).status_code == 302
    second_step_options(elsewhere)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(PasskeyChallenge)
                .where(PasskeyChallenge.user_id == member.user.id)
            )
            == 2
        )
        db.session.remove()

    response = submit(
        member.browser,
        "/account/delete",
        {"password": PASSWORD, "code": code_for(TWO_FACTOR_SECRET)},
    )

    assert response.status_code == 302
    with app.app_context():
        passkeys = db.session.scalar(select(func.count()).select_from(Passkey))
        challenges = db.session.scalar(
            select(func.count())
            .select_from(PasskeyChallenge)
            .where(
                or_(
                    PasskeyChallenge.user_id.is_not(None),
                    PasskeyChallenge.session_id.is_not(None),
                )
            )
        )
        db.session.remove()
    assert (passkeys, challenges) == (0, 0)
    # the device still holds the passkey: it signs nobody in
    browser = app.test_client()
    refused = sign_in_with_passkey(browser, member.authenticator)
    assert refused.status_code == 401
    assert browser.get("/account/profile").status_code == 302


# -- the admin -------------------------------------------------------------------------


def admin_signed_in(app: Flask, make_user: MakeUser) -> tuple[FlaskClient, User]:
    admin = make_user(name="Ada Admin", is_admin=True)
    client = app.test_client()
    assert sign_in(client, admin.email).status_code == 302
    return client, admin


def row_of(page: str, email: str) -> str:
    """The accounts page's entry for the account of `email`."""
    [row] = [row for row in page.split("<li>") if f"· {email}" in row]
    return row


def test_an_admin_sees_how_many_passkeys_each_account_has(
    app: Flask, make_user: MakeUser
) -> None:
    client, _ = admin_signed_in(app, make_user)
    two = member_with_passkey(app, make_user, name="Laptop")
    assert add_passkey(two.browser, Authenticator(), name="Phone").status_code == 302
    one = member_with_passkey(app, make_user)
    none = make_user()

    page = words_of(client.get("/admin/users"))

    assert "2 passkeys" in row_of(page, two.user.email)
    assert "1 passkey<" in row_of(page, one.user.email)
    assert "passkey" not in row_of(page, none.email)


def test_an_admin_removes_a_members_passkeys_after_confirming(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    client, admin = admin_signed_in(app, make_user)
    member = member_with_passkey(app, make_user, name="Lost phone")
    assert (
        add_passkey(member.browser, member.authenticator, name="Old key").status_code
        == 302
    )
    page = words_of(client.get("/admin/users"))
    assert f'action="/admin/users/{member.user.id}/remove-passkeys"' in row_of(
        page, member.user.email
    )

    asked = client.get(f"/admin/users/{member.user.id}/remove-passkeys")

    assert asked.status_code == 200
    assert f"Remove the passkeys of {member.user.name}?" in words_of(asked)
    assert len(stored_passkeys(app, member.user)) == 2  # asking removes nothing
    done = client.post(
        f"/admin/users/{member.user.id}/remove-passkeys",
        data={"csrf_token": csrf_from(asked)},
    )
    assert done.status_code == 302
    assert f"The passkeys of {member.user.name} are removed" in words_of(
        client.get(done.headers["Location"])
    )
    assert stored_passkeys(app, member.user) == []
    assert log_of(app, member.user)[-1] == ("passkey_removed_by_admin", admin.id)
    log = words_of(member.browser.get("/account/security"))
    assert "An administrator removed the account's passkeys" in log
    [notice] = mails_to(
        outbox, member.user.email, "Passkeys were removed from your account"
    )
    assert "operator" in notice.body
    assert "  Lost phone\n  Old key" in notice.body
    refused = sign_in_with_passkey(app.test_client(), member.authenticator)
    assert refused.status_code == 401
    assert sign_in(app.test_client(), member.user.email).status_code == 302


def test_an_admin_cannot_remove_their_own_passkeys_in_the_admin_area(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    own = member_with_passkey(app, make_user, is_admin=True)
    client = own.browser
    page = words_of(client.get("/admin/users"))
    assert "1 passkey" in row_of(page, own.user.email)
    assert "remove-passkeys" not in row_of(page, own.user.email)
    before = snapshot(app)

    asked = client.get(f"/admin/users/{own.user.id}/remove-passkeys")
    assert asked.status_code == 302  # no page asks it
    posted = client.post(
        f"/admin/users/{own.user.id}/remove-passkeys",
        data={"csrf_token": csrf_from(client.get("/admin/users"))},
    )

    assert posted.status_code == 302
    assert "You cannot remove your own passkeys here" in words_of(
        client.get(posted.headers["Location"])
    )
    assert snapshot(app) == before
    assert len(stored_passkeys(app, own.user)) == 1


def test_a_member_cannot_remove_anyone_elses_passkeys(
    app: Flask, make_user: MakeUser
) -> None:
    member = member_with_passkey(app, make_user)
    other = member_with_passkey(app, make_user)
    before = snapshot(app)

    response = other.browser.post(
        f"/admin/users/{member.user.id}/remove-passkeys",
        data={"csrf_token": csrf_from(other.browser.get("/account/profile"))},
    )

    assert response.status_code == 403
    assert snapshot(app) == before


def test_the_admins_removal_needs_a_csrf_token(app: Flask, make_user: MakeUser) -> None:
    client, _ = admin_signed_in(app, make_user)
    member = member_with_passkey(app, make_user)
    before = snapshot(app)

    response = client.post(f"/admin/users/{member.user.id}/remove-passkeys")

    assert response.status_code == 400
    assert snapshot(app) == before


# -- a password reset ------------------------------------------------------------------


def reset_password(app: Flask, email: str, outbox: Outbox) -> OutboxMail:
    """Reset the password from the mailed link; return the notice that follows."""
    browser = app.test_client()
    assert submit(browser, "/auth/forgot", {"email": email}).status_code == 302
    link = link_in(outbox()[-1].body)
    chosen = submit(browser, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert chosen.status_code == 302, chosen.get_data(as_text=True)
    [notice] = mails_to(outbox, email, "Your password was reset")
    return notice


def test_a_reset_from_the_mailed_link_keeps_the_passkeys_and_its_notice_names_them(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    member = member_with_passkey(app, make_user, name="Work laptop")
    assert add_passkey(member.browser, Authenticator(), name="Phone").status_code == 302
    kept = stored_passkeys(app, member.user)

    notice = reset_password(app, member.user.email, outbox)

    assert [p.id for p in stored_passkeys(app, member.user)] == [p.id for p in kept]
    assert "The account keeps its 2 passkeys" in notice.body
    assert "  - Work laptop\n  - Phone\n" in notice.body
    assert "/account/passkeys" in notice.body
    browser = app.test_client()
    assert sign_in_with_passkey(browser, member.authenticator).status_code == 302
    assert browser.get("/account/profile").status_code == 200


def test_the_reset_notice_of_an_account_without_passkeys_says_nothing_of_them(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    user = make_user()

    notice = reset_password(app, user.email, outbox)

    assert "passkey" not in notice.body


def test_a_password_change_in_the_settings_does_not_list_the_passkeys(
    app: Flask, make_user: MakeUser, outbox: Outbox
) -> None:
    # the member is signed in and sees them on the passkeys page
    member = member_with_passkey(app, make_user, name="Work laptop")

    changed = submit(
        member.browser,
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert changed.status_code == 302, changed.get_data(as_text=True)
    [notice] = mails_to(outbox, member.user.email, "Your password was changed")
    assert "Work laptop" not in notice.body
