"""Editing one's own profile, and how names and bios are shown back."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from markupsafe import escape

from app.extensions import db
from app.models import User
from app.services import accounts
from tests.conftest import sign_in, snapshot, submit
from tests.factories import PASSWORD

MEMBER_LINK_RE = re.compile(r'href="/users/(\d+)"')
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
]

# Names that hide or flip text, refused wherever a name is taken (sign-up, profile,
# `users create-admin`), each with its id.
HIDDEN_CHARACTER_NAMES = {
    "zero-width-space-only": "\u200b",
    "right-to-left-override": "\u202eevil.com",
    "unclosed-isolate": "Ada \u2066",
    "pop-isolate": "Ada\u2069 Lovelace",
    "left-to-right-embedding": "Ada\u202a Lovelace",
    "right-to-left-mark": "\u200fAda",
    "left-to-right-mark": "Ada\u200e",
    "arabic-letter-mark": "\u061cAda",
    "byte-order-mark": "\ufeffAda",
    "word-joiner": "Ada\u2060Lovelace",
    "soft-hyphen": "Ada\u00adLovelace",
    "private-use-only": "\ue000",
    "private-use-in-a-name": "Ada\U000f0000 Lovelace",
    "unassigned-only": "\u0378",
    "unassigned-noncharacter": "Ada\ufffe",
}
# Names of nothing but characters drawn as nothing: joiners, Hangul fillers, a
# variation selector, the braille blank.
NOTHING_VISIBLE_NAMES = {
    "zero-width-joiner-only": "\u200d",
    "joiners-and-space": "\u200c \u200d",
    "hangul-filler": "\u3164",
    "hangul-choseong-filler": "\u115f",
    "hangul-jungseong-filler": "\u1160",
    "halfwidth-hangul-filler": "\uffa0",
    "variation-selector": "\ufe0f",
    "braille-blank": "\u2800",
    "braille-blanks-and-space": "\u2800 \u2800",
}
REFUSED_NAMES = {
    **{
        key: (name, accounts.NAME_HIDDEN_CHARACTERS)
        for key, name in HIDDEN_CHARACTER_NAMES.items()
    },
    **{
        key: (name, accounts.NAME_NOTHING_VISIBLE)
        for key, name in NOTHING_VISIBLE_NAMES.items()
    },
}
# Names the joiners belong in: Persian (ZWNJ), an emoji sequence (ZWJ), Devanagari
# (ZWJ), an emoji with its variation selector.
JOINED_NAMES = {
    "persian": "\u0639\u0644\u06cc\u200c\u0631\u0636\u0627",  # Ali-Reza
    "emoji-sequence": "Ada \U0001f469\u200d\U0001f4bb",
    "devanagari": "\u0915\u094d\u200d\u0937\u093f\u0924\u093f",
    "variation-selector": "Ada \u2764\ufe0f",
}


def stored(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        db.session.remove()
    return user


def save_profile(client, name: str, bio: str = "", listed: bool = True):
    data = {"name": name, "bio": bio}
    if listed:
        data["listed"] = "y"
    return submit(client, "/account/profile", data)


def test_profile_requires_sign_in(client):
    response = client.get("/account/profile")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_profile_form_shows_current_values(client, make_user):
    user = make_user(name="Ada Lovelace", bio="Notes on the engine")
    sign_in(client, user.email)

    body = client.get("/account/profile").get_data(as_text=True)

    assert 'value="Ada Lovelace"' in body
    assert re.search(r">\s*Notes on the engine</textarea>", body)
    listed_box = re.search(r'<input[^>]*name="listed"[^>]*>', body)
    assert listed_box and "checked" in listed_box.group(0)


def test_profile_edit_saves_name_and_bio(app, client, signed_in):
    response = save_profile(client, "Grace Hopper", "Found a moth.")

    assert response.status_code == 302
    assert "Your profile is saved." in client.get("/account/profile").get_data(
        as_text=True
    )
    user = stored(app, signed_in.id)
    assert (user.name, user.bio, user.is_listed) == (
        "Grace Hopper",
        "Found a moth.",
        True,
    )
    page = client.get(f"/users/{signed_in.id}").get_data(as_text=True)
    assert "Grace Hopper" in page
    assert "Found a moth." in page


def test_profile_edit_accepts_longest_name_and_bio(app, client, signed_in):
    response = save_profile(client, "n" * 80, "b" * 500)

    assert response.status_code == 302
    user = stored(app, signed_in.id)
    assert (len(user.name), len(user.bio)) == (80, 500)


def test_hiding_profile_removes_member_from_directory_and_search(
    app, client, make_user
):
    hider = make_user(name="Hilda Hidden")
    sign_in(client, hider.email)
    response = save_profile(client, "Hilda Hidden", listed=False)
    assert response.status_code == 302
    assert stored(app, hider.id).is_listed is False

    other = app.test_client()
    viewer = make_user(name="Viewer")
    sign_in(other, viewer.email)

    listing = other.get("/users/").get_data(as_text=True)
    search = other.get("/users/?q=hilda").get_data(as_text=True)
    assert str(hider.id) not in MEMBER_LINK_RE.findall(listing)
    assert MEMBER_LINK_RE.findall(search) == []
    assert other.get(f"/users/{hider.id}").status_code == 404


def test_a_renamed_member_is_found_by_the_new_name_and_not_the_old(
    app, client, make_user
):
    member = make_user(name="Dorothy Vaughan")
    sign_in(client, member.email)
    assert save_profile(client, "Katherine Johnson").status_code == 302

    found_new = MEMBER_LINK_RE.findall(client.get("/users/?q=katherine").get_data(True))
    found_old = MEMBER_LINK_RE.findall(client.get("/users/?q=dorothy").get_data(True))

    assert found_new == [str(member.id)]
    assert found_old == []


def test_listing_profile_again_returns_member_to_directory(app, client, make_user):
    member = make_user(name="Rita Returning", is_listed=False)
    sign_in(client, member.email)

    save_profile(client, "Rita Returning", listed=True)

    other = app.test_client()
    sign_in(other, make_user().email)
    search = other.get("/users/?q=rita").get_data(as_text=True)
    assert MEMBER_LINK_RE.findall(search) == [str(member.id)]


@pytest.mark.parametrize(
    ("name", "bio", "field"),
    [
        ("", "A bio", "name"),
        ("   ", "A bio", "name"),
        ("n" * 81, "A bio", "name"),
        ("Fine Name", "b" * 501, "bio"),
    ],
    ids=["empty-name", "blank-name", "long-name", "long-bio"],
)
def test_profile_edit_refuses_invalid_input(app, client, make_user, name, bio, field):
    user = make_user(name="Original Name", bio="Original bio")
    sign_in(client, user.email)

    response = save_profile(client, name, bio, listed=False)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in body
    unchanged = stored(app, user.id)
    assert (unchanged.name, unchanged.bio, unchanged.is_listed) == (
        "Original Name",
        "Original bio",
        True,
    )


@pytest.mark.parametrize(
    ("limit", "name", "bio", "field", "message"),
    [
        ("NAME_MAX", "n" * 11, "", "name", "Your name must be 1 to 10 characters."),
        (
            "BIO_MAX",
            "Fine Name",
            "b" * 11,
            "bio",
            "Your bio must be at most 10 characters.",
        ),
    ],
    ids=["name", "bio"],
)
def test_a_refusal_of_the_service_is_shown_next_to_its_field(
    app, client, make_user, monkeypatch, limit, name, bio, field, message
):
    # No input gets past the form's limits yet breaks the service's: the form counts
    # the text as sent (a browser's CRLF newlines as two), the service the trimmed
    # text. A tighter service limit stands in for a rule only the service knows.
    monkeypatch.setattr(accounts, limit, 10)
    user = make_user(name="Original Name", bio="Original bio")
    sign_in(client, user.email)

    response = save_profile(client, name, bio)

    body = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="(\w+)-error">([^<]*)</p>', body))
    assert response.status_code == 422
    assert errors == {field: message}
    unchanged = stored(app, user.id)
    assert (unchanged.name, unchanged.bio) == ("Original Name", "Original bio")


def test_profile_edit_keeps_typed_values_after_an_error(client, signed_in):
    body = save_profile(client, "", "Kept bio").get_data(as_text=True)

    assert re.search(r">\s*Kept bio</textarea>", body)


def test_profile_edit_without_csrf_token_changes_nothing(app, client, signed_in):
    response = client.post(
        "/account/profile", data={"name": "Forged", "bio": "", "listed": "y"}
    )

    assert response.status_code == 400
    assert stored(app, signed_in.id).name == signed_in.name


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=["script", "attribute"])
def test_name_and_bio_are_escaped_everywhere(
    app, client, signed_in, make_user, payload
):
    assert save_profile(client, payload, payload).status_code == 302
    escaped = str(escape(payload))
    viewer = app.test_client()
    sign_in(viewer, make_user(is_listed=False).email)

    pages = {
        "directory": viewer.get("/users/"),
        "search": viewer.get("/users/", query_string={"q": payload}),
        "profile": viewer.get(f"/users/{signed_in.id}"),
        "own profile": client.get(f"/users/{signed_in.id}"),
        "landing": client.get("/"),
        "edit form": client.get("/account/profile"),
    }

    for where, response in pages.items():
        body = response.get_data(as_text=True)
        assert response.status_code == 200, where
        assert payload not in body, where
        assert "<script>alert" not in body, where
        assert "<img" not in body, where
        assert escaped in body, where
    nav = pages["landing"].get_data(as_text=True)
    assert f'class="who">{escaped}</span>' in nav
    assert f"Hello, {escaped}</h1>" in nav
    form = pages["edit form"].get_data(as_text=True)
    assert f'value="{escaped}"' in form
    assert re.search(rf">\s*{re.escape(escaped)}</textarea>", form)


@pytest.mark.parametrize(
    ("name", "message"), REFUSED_NAMES.values(), ids=REFUSED_NAMES.keys()
)
def test_a_name_that_hides_or_flips_text_is_refused_and_nothing_changes(
    app, client, make_user, name, message
):
    user = make_user(name="Original Name", bio="Original bio")
    sign_in(client, user.email)
    before = snapshot(app)

    response = save_profile(client, name, "A new bio", listed=False)

    body = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="(\w+)-error">([^<]*)</p>', body))
    assert response.status_code == 422
    assert errors == {"name": message}
    assert snapshot(app) == before


# Lone surrogates (category Cs) cannot come through a form, whose text is UTF-8; a
# caller of clean_name that got them from elsewhere (the CLI hands on undecodable
# bytes as such) must not store them.
@pytest.mark.parametrize("name", ["\udcff", "Ada\ud800 Lovelace"])
def test_clean_name_refuses_lone_surrogates(app: Flask, name: str) -> None:
    with app.app_context(), pytest.raises(accounts.InvalidProfile) as refused:
        accounts.clean_name(name)

    assert str(refused.value) == accounts.NAME_HIDDEN_CHARACTERS
    assert refused.value.field == "name"


@pytest.mark.parametrize("name", JOINED_NAMES.values(), ids=JOINED_NAMES.keys())
def test_a_name_that_needs_a_joiner_keeps_it(app, client, signed_in, name):
    response = save_profile(client, name)

    assert response.status_code == 302
    assert stored(app, signed_in.id).name == name


# --- The time zone times are shown in ---------------------------------------------


def save_zone(client, time_zone: str, name: str = "Zoned Member"):
    return submit(
        client, "/account/profile", {"name": name, "bio": "", "time_zone": time_zone}
    )


def test_the_profile_offers_every_zone_and_shows_the_members(client, make_user):
    user = make_user(time_zone="Europe/Berlin")
    sign_in(client, user.email)

    body = client.get("/account/profile").get_data(as_text=True)

    select = re.search(r'<select[^>]*name="time_zone".*?</select>', body, re.S)
    assert select and '<label for="time_zone">Time zone</label>' in body
    assert re.search(r'<option selected value="Europe/Berlin">', select.group(0))
    assert 'value="America/New_York">America/New York</option>' in select.group(0)
    assert 'value="Pacific/Kiritimati"' in select.group(0)
    assert 'value="localtime"' not in select.group(0)  # the server's, not a place


def test_a_zone_chosen_in_the_profile_is_kept_whatever_browser_signs_in(
    app, client, make_user
):
    user = make_user(name="Zoned Member", time_zone="Europe/Berlin")
    sign_in(client, user.email)

    response = save_zone(client, "America/New_York")
    submit(
        app.test_client(),
        "/auth/login",
        {"email": user.email, "password": PASSWORD, "time_zone": "Asia/Tokyo"},
    )

    assert response.status_code == 302
    assert stored(app, user.id).time_zone == "America/New_York"


def test_saving_the_profile_as_it_was_chooses_no_zone(app, client, make_user):
    user = make_user(name="Zoned Member", time_zone="Europe/Berlin")
    sign_in(client, user.email)

    assert save_zone(client, "Europe/Berlin", name="New Name").status_code == 302
    submit(
        app.test_client(),
        "/auth/login",
        {"email": user.email, "password": PASSWORD, "time_zone": "Asia/Tokyo"},
    )

    assert stored(app, user.id).time_zone == "Asia/Tokyo"  # still the browser's


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "", "localtime", "europe/berlin", "../../etc/passwd"]
)
def test_a_zone_not_in_the_list_is_refused_and_nothing_changes(
    app, client, make_user, zone
):
    user = make_user(name="Original Name", time_zone="Europe/Berlin")
    sign_in(client, user.email)
    before = snapshot(app)

    response = save_zone(client, zone, name="A New Name")

    body = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="(\w+)-error">([^<]*)</p>', body))
    assert response.status_code == 422
    assert errors == {"time_zone": "Choose your time zone from the list."}
    assert 'aria-describedby="time_zone-hint time_zone-error"' in body
    assert snapshot(app) == before
