"""The footer's language menu: a visitor's choice in a cookie, a member's stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import User
from app.web.language import LANGUAGE_COOKIE
from tests.conftest import csrf_from, sign_in, snapshot

MENU_RE = re.compile(r'<form [^>]*class="language-menu">.*?</form>', re.S)
OPTION_RE = re.compile(
    r'<option value="([^"]+)" lang="([^"]+)"( selected)?>([^<]+)</option>'
)
HTML_TAG_RE = re.compile(r"<html [^>]*>")


def menu_on(page: TestResponse) -> str:
    """The footer's language menu of a page, as HTML."""
    menus = MENU_RE.findall(page.get_data(as_text=True))
    assert len(menus) == 1, "the page has no language menu, or several"
    return str(menus[0])


def options_of(menu: str) -> list[tuple[str, str, bool, str]]:
    """Each option of a menu: its code, lang attribute, whether chosen, its name."""
    return [
        (code, lang, bool(chosen), name)
        for code, lang, chosen, name in OPTION_RE.findall(menu)
    ]


def html_tag(client: FlaskClient, path: str = "/auth/login") -> str:
    match = HTML_TAG_RE.search(client.get(path).get_data(as_text=True))
    assert match
    return match.group(0)


def choose(
    client: FlaskClient,
    language: str,
    next: str = "/auth/register",
    page: str = "/auth/login",
    **data: Any,
) -> TestResponse:
    """Post the menu of a page, as a browser submitting it would."""
    token = csrf_from(client.get(page))
    return client.post(
        "/language",
        data={"language": language, "next": next, "csrf_token": token, **data},
    )


def language_cookies(response: TestResponse) -> list[str]:
    return [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{LANGUAGE_COOKIE}=")
    ]


def stored_language(app: Flask, user: User) -> str | None:
    with app.app_context():
        found = db.session.get(User, user.id)
        language = found.language if found else None
        db.session.remove()
    return language


# -- the menu ---------------------------------------------------------------------


def test_the_sign_in_page_has_the_menu_listing_the_five_languages(
    client: FlaskClient,
) -> None:
    menu = menu_on(client.get("/auth/login"))

    assert menu.startswith('<form method="post" action="/language"')
    assert 'name="csrf_token"' in menu
    assert '<input type="hidden" name="next" value="/auth/login">' in menu
    assert '<label for="language-menu">Language</label>' in menu
    assert '<select id="language-menu" name="language">' in menu
    # each named in its own language, the page's one chosen
    assert options_of(menu) == [
        ("en", "en", True, "English"),
        ("de", "de", False, "Deutsch"),
        ("fr", "fr", False, "Français"),
        ("es", "es", False, "Español"),
        ("ar", "ar", False, "العربية"),
    ]
    assert '<button type="submit" class="secondary">Change</button>' in menu


def test_the_menu_comes_back_to_the_page_and_query_it_is_on(
    client: FlaskClient,
) -> None:
    menu = menu_on(client.get("/auth/login?next=/account/profile"))

    assert 'name="next" value="/auth/login?next=/account/profile"' in menu


def test_a_page_says_its_language_and_direction(client: FlaskClient) -> None:
    assert html_tag(client) == '<html lang="en" dir="ltr">'


# -- choosing -----------------------------------------------------------------------


def test_choosing_german_sets_the_cookie_and_goes_back_to_the_page(
    client: FlaskClient,
) -> None:
    response = choose(client, "de", next="/auth/register")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/register"
    (cookie,) = language_cookies(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0] == f"{LANGUAGE_COOKIE}=de"
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert f"max-age={365 * 24 * 3600}" in attributes
    # the pages are now written in German
    assert html_tag(client) == '<html lang="de" dir="ltr">'


def test_the_menu_shows_the_language_chosen(client: FlaskClient) -> None:
    choose(client, "fr")

    options = options_of(menu_on(client.get("/auth/login")))

    assert [code for code, _, chosen, _ in options if chosen] == ["fr"]


def test_arabic_pages_are_written_right_to_left(client: FlaskClient) -> None:
    choose(client, "ar")

    assert html_tag(client) == '<html lang="ar" dir="rtl">'


def test_the_query_of_the_page_is_kept(client: FlaskClient) -> None:
    response = choose(client, "de", next="/auth/login?next=/account/profile")

    assert response.headers["Location"] == "/auth/login?next=/account/profile"


@pytest.mark.parametrize("language", ["xx", "", "DE", "de-DE", "en\x00"])
def test_an_unknown_language_is_refused_and_changes_nothing(
    client: FlaskClient, language: str
) -> None:
    response = choose(client, language)

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<title>Bad request · Vestibule</title>" in body and "Error 400" in body
    assert language_cookies(response) == []
    assert client.get_cookie(LANGUAGE_COOKIE) is None
    assert html_tag(client) == '<html lang="en" dir="ltr">'


@pytest.mark.parametrize(
    "next",
    [
        "//evil.example/",
        "https://evil.example/",
        "http://evil.example/auth/login",
        "/\\evil.example",
        "evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_a_next_off_this_site_is_not_followed(client: FlaskClient, next: str) -> None:
    response = choose(client, "de", next=next)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get_cookie(LANGUAGE_COOKIE) is not None


@pytest.mark.parametrize("token", [None, "", "garbage"], ids=["none", "empty", "bad"])
def test_without_a_csrf_token_the_choice_is_refused(
    client: FlaskClient, token: str | None
) -> None:
    client.get("/auth/login")  # this browser holds a CSRF secret of its own
    data = {"language": "de", "next": "/auth/register"}
    if token is not None:
        data["csrf_token"] = token

    response = client.post("/language", data=data)

    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)
    assert language_cookies(response) == []
    assert client.get_cookie(LANGUAGE_COOKIE) is None


def test_an_expired_menu_comes_back_to_its_page_and_says_why(
    client: FlaskClient, clock: Callable[[timedelta], None]
) -> None:
    token = csrf_from(client.get("/auth/login"))
    clock(timedelta(hours=2))

    response = client.post(
        "/language",
        data={"language": "de", "next": "/auth/register", "csrf_token": token},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/register"
    assert language_cookies(response) == []
    page = client.get("/auth/register").get_data(as_text=True)
    assert "This form expired, please submit it again." in page
    assert '<html lang="en" dir="ltr">' in page


# -- a member's choice ----------------------------------------------------------


def test_a_signed_in_members_choice_is_stored(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    assert stored_language(app, signed_in) is None

    response = choose(client, "de", next="/users/", page="/users/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/users/"
    assert stored_language(app, signed_in) == "de"
    assert language_cookies(response) != []
    assert html_tag(client, "/") == '<html lang="de" dir="ltr">'


def test_a_members_choice_follows_them_to_another_browser(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    choose(client, "es", page="/")
    other = app.test_client()
    assert html_tag(other) == '<html lang="en" dir="ltr">'

    assert sign_in(other, signed_in.email).status_code == 302

    assert html_tag(other, "/") == '<html lang="es" dir="ltr">'


def test_a_refused_choice_stores_nothing(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    before = snapshot(app)

    assert choose(client, "xx", page="/").status_code == 400

    assert snapshot(app) == before


# -- a first page without a form ----------------------------------------------------


def test_a_first_page_without_a_form_asks_for_the_language_page_and_sets_no_cookie(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/")

    menu = menu_on(response)
    assert menu.startswith('<form method="get" action="/language"')
    assert "csrf_token" not in menu
    assert '<input type="hidden" name="next" value="/">' in menu
    assert response.headers.getlist("Set-Cookie") == []


def test_the_language_page_posts_the_choice_asked_for(client: FlaskClient) -> None:
    page = client.get("/language?language=de&next=/auth/register")

    assert page.status_code == 200
    menu = menu_on(page)  # its own; the footer has none
    assert menu.startswith('<form method="post" action="/language"')
    assert '<input type="hidden" name="next" value="/auth/register">' in menu
    assert [code for code, _, chosen, _ in options_of(menu) if chosen] == ["de"]
    assert html_tag(client) == '<html lang="en" dir="ltr">'  # nothing chosen yet

    response = client.post(
        "/language",
        data={
            "language": "de",
            "next": "/auth/register",
            "csrf_token": csrf_from(page),
        },
    )

    assert response.headers["Location"] == "/auth/register"
    assert client.get_cookie(LANGUAGE_COOKIE) is not None
    assert html_tag(client) == '<html lang="de" dir="ltr">'


@pytest.mark.parametrize(
    "query", ["language=xx&next=//evil.example/", "", "next=https://evil.example/"]
)
def test_the_language_page_keeps_to_this_site_and_the_languages_offered(
    client: FlaskClient, query: str
) -> None:
    menu = menu_on(client.get(f"/language?{query}"))

    assert '<input type="hidden" name="next" value="/">' in menu
    assert [code for code, _, chosen, _ in options_of(menu) if chosen] == ["en"]
