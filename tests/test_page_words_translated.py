"""Every page a visitor, a member and an admin can reach says only translated words.

The site is read in the pseudo-language (tests/pseudo.py): every page reached by
following the site's own links, every form posted empty (its errors and messages),
and the error pages 400, 403, 404, 405, 429 and 500. Outside the markers a page may
show only its reader's data (names, addresses), numbers and Babel's dates; an English
word there is a text that was never marked for translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models import User
from tests.conftest import CSRF_RE, sign_in
from tests.factories import PASSWORD
from tests.pseudo import (
    PSEUDO_LANGUAGE,
    pseudo_config,
    untranslated,
    visible_text,
    write_pseudo_catalog,
)
from tests.routes import GET_LIMIT
from tests.two_factor import turn_on

LINK = re.compile(r'href="(/[^"]*)"')
FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]+)"', re.IGNORECASE)
# Names in a script of their own: no name is ever taken for an English word.
NAMES = ("Ωμέγα Δέλτα", "Ψυχή Ζήτα", "Ἀθηνᾶ Γλαυκῶπις")
# What the walk neither follows nor posts: files, and what ends its own session.
NOT_WALKED = ("/static/", "/auth/logout")
# The pages a mailed link opens, with a link that is no good (its own page).
LINK_PAGES = [
    f"/auth/{page}/not-a-token"
    for page in ("verify", "reset", "unlock", "not-me", "email-change", "email-undo")
]
MOST_PAGES = 120


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return {
        **pseudo_config(write_pseudo_catalog(tmp_path)),
        "LOCKOUT_THRESHOLD": 1000,
    }


def reader(client: FlaskClient) -> FlaskClient:
    client.set_cookie("vestibule_language", PSEUDO_LANGUAGE)
    return client


def post_empty(client: FlaskClient, action: str, page: str) -> TestResponse:
    token = CSRF_RE.search(page)
    data = {"csrf_token": token.group(1)} if token else {}
    return client.post(action, data=data, follow_redirects=True)


def walk(client: FlaskClient, start: list[str]) -> dict[str, str]:
    """Follow the site's links from `start`, posting each form empty once.

    Returns each page's HTML by what reached it ("GET /users/", "POST /auth/login").
    """
    pages: dict[str, str] = {}
    queue, seen, posted = list(start), set(), set()
    while queue and len(pages) < MOST_PAGES:
        path = queue.pop(0)
        if path in seen or path.startswith(NOT_WALKED):
            continue
        seen.add(path)
        response = client.get(path, follow_redirects=True)
        if response.mimetype != "text/html":  # a download: the member's own data
            continue
        html = response.get_data(as_text=True)
        pages[f"GET {path}"] = html
        for link in LINK.findall(html):
            parts = urlsplit(link.replace("&amp;", "&"))
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        for action in FORM.findall(html):
            action = action.replace("&amp;", "&")
            if action in posted or action.startswith(NOT_WALKED):
                continue
            posted.add(action)
            response = post_empty(client, action, html)
            pages[f"POST {action}"] = response.get_data(as_text=True)
    return pages


def words_left(pages: dict[str, str]) -> dict[str, list[str]]:
    left = {}
    for where, html in pages.items():
        words = untranslated(visible_text(html), user_data=NAMES)
        if words:
            left[where] = sorted(set(words))[:15]
    return left


def error_pages(client: FlaskClient) -> dict[str, str]:
    """The site's error pages, each reached as a reader would reach it."""
    pages = {"404": client.get("/no-such-page"), "500": client.get("/_testing/boom")}
    pages["405"] = client.get("/account/sessions/revoke-others")
    pages["400"] = client.post("/auth/login", data={"email": "a@example.org"})
    for _ in range(int(GET_LIMIT.split()[0]) + 1):
        pages["429"] = client.get("/_testing/limited")
    statuses = {name: response.status_code for name, response in pages.items()}
    assert statuses == {"404": 404, "500": 500, "405": 405, "400": 400, "429": 429}
    return {name: response.get_data(as_text=True) for name, response in pages.items()}


def test_a_visitor_reads_only_translated_words(client: FlaskClient) -> None:
    reader(client)
    start = ["/", "/auth/register", "/auth/login", "/auth/forgot", "/auth/logout"]
    pages = walk(client, start + LINK_PAGES + ["/auth/check-inbox"])
    pages.update(error_pages(client))
    assert len(pages) > 10
    assert words_left(pages) == {}


def test_a_member_reads_only_translated_words(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    others = [make_user(name=name, language=PSEUDO_LANGUAGE) for name in NAMES[1:]]
    member = make_user(name=NAMES[0], language=PSEUDO_LANGUAGE)
    sign_in(reader(client), member.email)
    start = ["/", "/users/", f"/users/{others[0].id}", "/account/profile"]
    pages = walk(client, start)
    turn_on(client, PASSWORD)
    pages.update({f"{k} (two-factor on)": v for k, v in walk(client, start).items()})
    pages["403"] = client.get("/admin/users").get_data(as_text=True)
    assert len(pages) > 20
    assert words_left(pages) == {}


def test_an_admin_reads_only_translated_words(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    for name in NAMES[1:]:
        make_user(name=name, language=PSEUDO_LANGUAGE)
    admin = make_user(name=NAMES[0], language=PSEUDO_LANGUAGE, is_admin=True)
    sign_in(reader(client), admin.email)
    pages = walk(client, ["/admin/users"])
    assert len(pages) > 5
    assert words_left(pages) == {}
