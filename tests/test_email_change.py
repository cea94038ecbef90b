"""Moving an account to another address: proven by a link, undone by another."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import OutboxMail, User
from tests.conftest import Snapshot, csrf_from, link_in, sign_in, snapshot, submit
from tests.factories import PASSWORD

Outbox = Callable[[], list[OutboxMail]]
NEW = "ada.new@example.com"
CONFIRM = "Confirm your new e-mail address"
MOVED = "Your Vestibule account moved to another address"
UNDONE = "Your Vestibule account moved back to its earlier address"
THIEFS = "thieves choose long passwords too"


def ask_to_move(client: FlaskClient, email: str, password: str = PASSWORD):
    return submit(client, "/account/email", {"email": email, "password": password})


def mail_to(outbox: Outbox, recipient: str, subject: str) -> OutboxMail:
    found = [m for m in outbox() if m.recipient == recipient and m.subject == subject]
    assert found, f"no {subject!r} mail to {recipient}"
    return found[-1]


def signs_in(app: Flask, email: str) -> bool:
    return sign_in(app.test_client(), email).status_code == 302


def test_until_the_link_is_opened_only_the_old_address_signs_in(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302

    response = ask_to_move(client, NEW)

    assert response.status_code == 302
    assert mail_to(outbox, NEW, CONFIRM)
    assert signs_in(app, user.email) and not signs_in(app, NEW)


def test_after_the_link_only_the_new_address_signs_in_and_the_old_one_hears(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    assert ask_to_move(client, NEW).status_code == 302
    link = link_in(mail_to(outbox, NEW, CONFIRM).body)

    opened = app.test_client().get(link)
    assert opened.status_code == 200 and signs_in(app, user.email)  # GET: nothing
    response = submit(app.test_client(), link, {})

    assert response.status_code == 302
    assert signs_in(app, NEW) and not signs_in(app, user.email)
    assert "/auth/email-undo/" in mail_to(outbox, user.email, MOVED).body
    assert app.test_client().get(link).status_code == 400  # used


def test_a_taken_address_gets_the_same_answer_and_changes_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    holder = make_user(email="taken@example.com")
    assert sign_in(client, user.email).status_code == 302
    free = ask_to_move(client, "free@example.com")
    before = snapshot(app)
    mails_before = len(outbox())

    taken = ask_to_move(client, holder.email)

    assert taken.status_code == free.status_code == 302
    assert client.get("/account/email").get_data(as_text=True).count("We sent a link")
    # the holder gets one note, no link; no account changed
    (note,) = outbox()[mails_before:]
    assert note.recipient == holder.email and "/auth/email-change/" not in note.body
    # nothing changed but the mail and the key that voids the earlier change link,
    # as a request to a free address does (see the test after this one)
    after, before = (
        without_change_link_key(snapshot(app)),
        without_change_link_key(before),
    )
    after.pop("outbox_mails"), before.pop("outbox_mails")
    assert after == before


def without_change_link_key(state: Snapshot) -> Snapshot:
    column = [c.name for c in User.__table__.columns].index("email_change_link_key")
    users = [row[:column] + row[column + 1 :] for row in state["users"]]
    return {**state, "users": users}


@pytest.mark.parametrize("newer", ["another free address", "a taken address"])
def test_an_older_change_link_dies_once_a_newer_change_is_asked_for(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
    newer: str,
) -> None:
    user = make_user()
    holder = make_user(email="taken@example.com")
    assert sign_in(client, user.email).status_code == 302
    assert ask_to_move(client, "ada@exmaple.com").status_code == 302  # mistyped
    mistyped = link_in(mail_to(outbox, "ada@exmaple.com", CONFIRM).body)
    assert app.test_client().get(mistyped).status_code == 200

    again = NEW if newer == "another free address" else holder.email
    assert ask_to_move(client, again).status_code == 302

    stranger = app.test_client()
    assert stranger.get(mistyped).status_code == 400
    token = csrf_from(stranger.get("/auth/login"))
    assert stranger.post(mistyped, data={"csrf_token": token}).status_code == 400
    assert address_of(app, user) == user.email
    if newer == "another free address":  # the newest link is the one that works
        assert submit(client, link_in(mail_to(outbox, NEW, CONFIRM).body), {})
        assert address_of(app, user) == NEW


def test_a_wrong_password_or_the_same_address_is_refused(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302

    wrong = ask_to_move(client, NEW, "not my password")
    same = ask_to_move(client, user.email.upper())

    assert wrong.status_code == same.status_code == 422
    assert "That is not your password." in wrong.get_data(as_text=True)
    assert "That is your address already." in same.get_data(as_text=True)
    assert [m for m in outbox() if m.recipient == NEW] == []


def test_the_undo_link_takes_the_account_back_from_whoever_moved_it(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    thief = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    assert sign_in(thief, user.email).status_code == 302  # the thief knows PASSWORD
    assert ask_to_move(thief, NEW).status_code == 302
    change = link_in(mail_to(outbox, NEW, CONFIRM).body)
    assert submit(thief, change, {}).status_code == 302
    assert submit(thief, "/auth/forgot", {"email": NEW}).status_code == 302
    thiefs_reset = link_in(mail_to(outbox, NEW, "Reset your password").body)
    undo = link_in(mail_to(outbox, user.email, MOVED).body)

    response = submit(client, undo, {})

    assert response.status_code == 302
    assert thief.get("/account/profile").status_code == 302  # both signed out
    assert client.get("/account/profile").status_code == 302
    # neither the password, the change link nor the reset link the thief holds works
    assert not signs_in(app, user.email) and not signs_in(app, NEW)
    assert app.test_client().get(change).status_code == 400
    assert app.test_client().get(thiefs_reset).status_code == 400
    # the owner's way back in: the reset link mailed to the restored address
    owners_reset = link_in(mail_to(outbox, user.email, "Reset your password").body)
    new_password = "quiet lantern harbour nineteen"
    data = {"password": new_password, "confirm": new_password}
    assert submit(app.test_client(), owners_reset, data).status_code == 302
    assert sign_in(app.test_client(), user.email, new_password).status_code == 302


def test_a_change_link_dies_with_any_move_made_after_it_was_mailed(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    assert ask_to_move(client, "typo@example.net").status_code == 302
    typo = link_in(mail_to(outbox, "typo@example.net", CONFIRM).body)
    # moved to another address, then back: the address is the one typo's link left
    assert ask_to_move(client, NEW).status_code == 302
    moved = submit(client, link_in(mail_to(outbox, NEW, CONFIRM).body), {})
    assert moved.status_code == 302
    assert ask_to_move(client, user.email).status_code == 302
    back = link_in(mail_to(outbox, user.email, CONFIRM).body)
    assert submit(client, back, {}).status_code == 302
    assert signs_in(app, user.email)
    before = snapshot(app)

    opened = app.test_client().get(typo)

    assert opened.status_code == 400
    assert snapshot(app) == before


@pytest.mark.parametrize("then", ["changes the password", "moves it again"])
def test_a_thief_cannot_void_the_undo_link(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Outbox,
    then: str,
) -> None:
    user = make_user()
    thief = app.test_client()
    assert sign_in(thief, user.email).status_code == 302  # the thief knows PASSWORD
    assert ask_to_move(thief, NEW).status_code == 302
    moved = submit(thief, link_in(mail_to(outbox, NEW, CONFIRM).body), {})
    assert moved.status_code == 302
    undo = link_in(mail_to(outbox, user.email, MOVED).body)
    if then == "changes the password":
        form = {"current": PASSWORD, "password": THIEFS, "confirm": THIEFS}
        assert submit(thief, "/account/password", form).status_code == 302
        thiefs_address = NEW
    else:
        thiefs_address = "thief.again@example.com"
        assert ask_to_move(thief, thiefs_address).status_code == 302
        again = link_in(mail_to(outbox, thiefs_address, CONFIRM).body)
        assert submit(thief, again, {}).status_code == 302

    response = submit(client, undo, {})

    assert response.status_code == 302
    assert thief.get("/account/profile").status_code == 302  # signed out
    assert not signs_in(app, thiefs_address)
    assert sign_in(app.test_client(), thiefs_address, THIEFS).status_code != 302
    owners_reset = link_in(mail_to(outbox, user.email, "Reset your password").body)
    data = {"password": THIEFS[::-1], "confirm": THIEFS[::-1]}
    assert submit(app.test_client(), owners_reset, data).status_code == 302
    assert sign_in(app.test_client(), user.email, THIEFS[::-1]).status_code == 302
    # the address the account left is told; the undo link works once
    assert mail_to(outbox, thiefs_address, UNDONE)
    assert app.test_client().get(undo).status_code == 400


def test_undo_when_the_old_address_has_an_account_again_changes_nothing(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    assert ask_to_move(client, NEW).status_code == 302
    moved = submit(client, link_in(mail_to(outbox, NEW, CONFIRM).body), {})
    assert moved.status_code == 302
    undo = link_in(mail_to(outbox, user.email, MOVED).body)
    make_user(email=user.email)  # someone has the old address now
    before = snapshot(app)

    response = submit(app.test_client(), undo, {})

    assert response.status_code == 302
    after = snapshot(app)
    assert after == before
    assert signs_in(app, NEW)


# --- undo links and the moves they take back ------------------------------------


def move(
    client: FlaskClient, outbox: Outbox, old: str, new: str, password: str = PASSWORD
) -> str:
    """Move the signed-in account from `old` to `new`; return `old`'s undo link."""
    assert ask_to_move(client, new, password).status_code == 302
    confirmed = submit(client, link_in(mail_to(outbox, new, CONFIRM).body), {})
    assert confirmed.status_code == 302
    return link_in(mail_to(outbox, old, MOVED).body)


def address_of(app: Flask, user: User) -> str:
    with app.app_context():
        email = db.session.get_one(User, user.id).email
        db.session.remove()
    return email


def moved_twice_by_a_thief(
    app: Flask, user: User, outbox: Outbox
) -> tuple[FlaskClient, str, str]:
    """A thief who knows the password moves the account on twice.

    Returns the thief's browser, the undo link mailed to the owner's address and
    the one mailed to the thief's first address.
    """
    thief = app.test_client()
    assert sign_in(thief, user.email).status_code == 302
    owners_undo = move(thief, outbox, user.email, "t1@example.net")
    thiefs_undo = move(thief, outbox, "t1@example.net", "t2@example.net")
    return thief, owners_undo, thiefs_undo


def test_the_owners_undo_voids_the_undo_links_of_the_thiefs_later_moves(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    _, owners_undo, thiefs_undo = moved_twice_by_a_thief(app, user, outbox)

    assert submit(client, owners_undo, {}).status_code == 302
    before = snapshot(app)

    assert app.test_client().get(thiefs_undo).status_code == 400
    assert snapshot(app) == before
    assert address_of(app, user) == user.email


def test_the_thiefs_undo_first_leaves_the_owners_link_good(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    thief, owners_undo, thiefs_undo = moved_twice_by_a_thief(app, user, outbox)
    assert submit(thief, thiefs_undo, {}).status_code == 302  # back at t1

    assert submit(client, owners_undo, {}).status_code == 302

    assert address_of(app, user) == user.email
    assert app.test_client().get(thiefs_undo).status_code == 400


def test_a_used_undo_link_stays_used_after_later_moves(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    undo = move(client, outbox, user.email, NEW)
    assert submit(app.test_client(), undo, {}).status_code == 302
    reset = link_in(mail_to(outbox, user.email, "Reset your password").body)
    data = {"password": THIEFS, "confirm": THIEFS}
    assert submit(app.test_client(), reset, data).status_code == 302
    owner = app.test_client()
    assert sign_in(owner, user.email, THIEFS).status_code == 302
    move(owner, outbox, user.email, "third@example.com", THIEFS)

    assert app.test_client().get(undo).status_code == 400
    assert address_of(app, user) == "third@example.com"


def test_an_undo_link_of_a_deleted_account_moves_no_later_account(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    gone = make_user(email="gone@example.net")
    browser = app.test_client()
    assert sign_in(browser, gone.email).status_code == 302
    undo = move(browser, outbox, gone.email, "gone.too@example.net")
    deleted = submit(browser, "/account/delete", {"password": PASSWORD})
    assert deleted.status_code == 302
    later = make_user(email="later@example.com")  # SQLite may give it gone's id
    before = snapshot(app)

    assert app.test_client().get(undo).status_code == 400
    assert snapshot(app) == before
    assert address_of(app, later) == "later@example.com"


def post_at_once(forms: list[tuple[FlaskClient, str, dict[str, str]]]) -> list[int]:
    """Post each (browser, page, fields) form in a thread of its own, all at once."""
    import threading

    ready = [(browser, page, {**fields, "csrf_token": csrf_from(browser.get(page))})
             for browser, page, fields in forms]  # fmt: skip
    start = threading.Barrier(len(ready))
    statuses: list[int] = []

    def post(browser: FlaskClient, page: str, data: dict[str, str]) -> None:
        start.wait()
        statuses.append(browser.post(page, data=data).status_code)

    threads = [threading.Thread(target=post, args=form) for form in ready]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.postgres
def test_one_undo_link_posted_twice_at_once_undoes_once(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    assert sign_in(client, user.email).status_code == 302
    undo = move(client, outbox, user.email, NEW)

    statuses = post_at_once([(app.test_client(), undo, {}) for _ in range(2)])

    assert sorted(statuses) == [302, 400], statuses
    resets = [m for m in outbox() if m.subject == "Reset your password"]
    assert len(resets) == 1


@pytest.mark.postgres
def test_an_undo_racing_the_thiefs_next_move_still_takes_the_account_back(
    app: Flask, make_user: Callable[..., User], outbox: Outbox
) -> None:
    user = make_user()
    thief = app.test_client()
    assert sign_in(thief, user.email).status_code == 302
    owners_undo = move(thief, outbox, user.email, "t1@example.net")
    assert ask_to_move(thief, "t2@example.net").status_code == 302
    thiefs_move = link_in(mail_to(outbox, "t2@example.net", CONFIRM).body)

    statuses = post_at_once(
        [(app.test_client(), owners_undo, {}), (thief, thiefs_move, {})]
    )

    assert 500 not in statuses and 503 not in statuses, statuses
    assert address_of(app, user) == user.email  # whichever ran first
    assert thief.get("/account/profile").status_code == 302  # signed out


def test_after_an_undo_the_page_says_a_reset_link_is_on_its_way_to_the_old_address(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], outbox: Outbox
) -> None:
    # Not "Sign in", with the password the undo has just voided.
    user = make_user(email="ada@example.com")
    assert sign_in(client, user.email).status_code == 302
    assert ask_to_move(client, NEW).status_code == 302
    assert submit(client, link_in(mail_to(outbox, NEW, CONFIRM).body), {})
    undo = link_in(mail_to(outbox, user.email, MOVED).body)
    owner = app.test_client()

    response = submit(owner, undo, {})

    assert response.headers["Location"] == "/auth/check-inbox"
    page = owner.get("/auth/check-inbox").get_data(as_text=True)
    assert (
        "A link to choose a new password is on its way to "
        '<strong class="address">ada@example.com</strong>'
    ) in page
    assert "Its password no longer works." in page
    assert mail_to(outbox, user.email, "Reset your password")


def test_asking_to_move_names_the_new_address_whole(
    client: FlaskClient, signed_in: User
) -> None:
    response = ask_to_move(client, "ada.lovelace.1815@example.org")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "We sent a link to ada.lovelace.1815@example.org." in page
