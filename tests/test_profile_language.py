"""The language a member chooses in their profile: offered, stored, and then served."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, template_rendered
from flask.testing import FlaskClient
from flask_babel import get_locale

from app.extensions import db
from app.models import User
from tests.conftest import csrf_from, said, sign_in, snapshot, submit

OPTION_RE = re.compile(r'<option([^>]*)value="([^"]*)"[^>]*>([^<]*)</option>')
# The five languages, each named in itself, in the order of the setting LANGUAGES.
OFFERED = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ar", "العربية"),
]


def language_select(body: str) -> list[tuple[str, str, bool]]:
    """Return the profile's language options: code, label, whether chosen."""
    select = re.search(r'<select[^>]*name="language".*?</select>', body, re.S)
    assert select, "the profile has no language select"
    return [
        (value, label, "selected" in attributes)
        for attributes, value, label in OPTION_RE.findall(select.group(0))
    ]


def stored_language(app: Flask, user_id: int) -> str | None:
    with app.app_context():
        user = db.session.get_one(User, user_id)
        language = user.language
        db.session.remove()
    return language


@contextmanager
def page_languages(app: Flask) -> Iterator[list[tuple[str, str]]]:
    """Record, for each template rendered, the language it was written in.

    Each entry is the page's `page_language` and the request's Flask-Babel locale.
    """
    seen: list[tuple[str, str]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **_: Any) -> None:
        seen.append((context["page_language"], str(get_locale())))

    with template_rendered.connected_to(record, app):
        yield seen


def save_profile(client: FlaskClient, name: str, **fields: str) -> Any:
    return submit(client, "/account/profile", {"name": name, "bio": "", **fields})


def test_the_profile_lists_the_five_languages_with_the_members_own_chosen(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(language="de")
    sign_in(client, user.email)

    body = client.get("/account/profile").get_data(as_text=True)

    assert f'<label for="language">{said("de", "Language")}</label>' in body
    assert language_select(body) == [
        (code, name, code == "de") for code, name in OFFERED
    ]
    # each option is marked as written in its own language
    assert '<option lang="ar" value="ar">العربية</option>' in body


def test_a_member_who_never_chose_sees_the_pages_language_chosen(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()  # from before languages: none stored
    sign_in(client, user.email)

    body = client.get(
        "/account/profile", headers={"Accept-Language": "es-ES,es;q=0.9"}
    ).get_data(as_text=True)

    assert [code for code, _, chosen in language_select(body) if chosen] == ["es"]


def test_choosing_french_stores_it_and_the_next_page_is_in_french(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(name="Marie Curie", time_zone="Europe/Paris")
    sign_in(client, user.email)

    response = save_profile(
        client, "Marie Curie", listed="y", time_zone="Europe/Paris", language="fr"
    )

    assert response.status_code == 302
    assert stored_language(app, user.id) == "fr"
    with page_languages(app) as seen:
        body = client.get("/account/profile").get_data(as_text=True)
    assert seen and all(written == ("fr", "fr") for written in seen)
    assert [code for code, _, chosen in language_select(body) if chosen] == ["fr"]
    # the rest of the profile as it was
    assert 'value="Marie Curie"' in body
    assert '<option selected value="Europe/Paris">' in body


def test_the_members_language_wins_over_the_browsers(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(language="en")
    sign_in(client, user.email)

    save_profile(client, user.name, language="ar")

    with page_languages(app) as seen:
        client.get("/users/", headers={"Accept-Language": "de"})
    assert seen and all(written == ("ar", "ar") for written in seen)


def test_an_unknown_language_is_refused_and_nothing_changes(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(name="Ada Lovelace", language="de")
    sign_in(client, user.email)
    token = csrf_from(client.get("/account/profile"))
    before = snapshot(app)

    for refused in ("xx", "", "fr-FR", "EN"):
        response = client.post(
            "/account/profile",
            data={
                "name": "Someone Else",
                "bio": "",
                "language": refused,
                "csrf_token": token,
            },
        )

        assert response.status_code == 422, refused
        refusal = said("de", "Choose your language from the list.")
        assert (
            f'<p class="error" id="language-error">{refusal}</p>'
            in response.get_data(as_text=True)
        ), refused
        assert snapshot(app) == before
    assert stored_language(app, user.id) == "de"


def test_a_post_without_a_language_keeps_the_members(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    # as a form made before languages posts: every other field, no language
    user = make_user(language="es")
    sign_in(client, user.email)

    response = save_profile(client, "Renamed Member", listed="y")

    assert response.status_code == 302
    assert stored_language(app, user.id) == "es"
