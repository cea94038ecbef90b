"""Static files: each URL names its content, so a browser keeps it for a year."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from flask import Flask, url_for
from flask.testing import FlaskClient

from app import create_app
from app.models import User

A_YEAR = "public, max-age=31536000, immutable"
STYLESHEET_RE = re.compile(r'<link rel="stylesheet" href="([^"]+)">')


def stylesheet_of(page: str) -> str:
    (href,) = STYLESHEET_RE.findall(page)
    return href


def test_a_pages_stylesheet_url_carries_the_hash_of_the_file(
    client: FlaskClient,
) -> None:
    href = stylesheet_of(client.get("/").get_data(as_text=True))

    assert re.fullmatch(r"/static/style\.css\?v=[0-9a-f]{12}", href)


def test_the_current_version_is_kept_for_a_year_even_by_a_signed_in_browser(
    client: FlaskClient, signed_in: User
) -> None:
    # Before: every file was fetched again, and signed-in browsers got no-store.
    page = client.get("/account/profile").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assets = [stylesheet_of(page), *scripts]

    for href in assets:
        response = client.get(href)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == A_YEAR, href
    assert len(assets) == 3


def test_a_file_asked_for_without_its_current_version_is_checked_again(
    client: FlaskClient,
) -> None:
    for path in ("/static/style.css", "/static/style.css?v=000000000000"):
        response = client.get(path)

        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")
        assert "max-age=31536000" not in response.headers.get("Cache-Control", "")


def test_a_missing_file_gets_no_version_and_404(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        href = url_for("static", filename="no-such-file.css")

    assert href == "/static/no-such-file.css"
    assert client.get(href).status_code == 404


def _stylesheet_url(static_folder: Path) -> str:
    """The stylesheet's URL as an app started on `static_folder` gives it."""
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app.static_folder = str(static_folder)
    with app.test_request_context():
        return url_for("static", filename="style.css")


def test_changing_the_file_changes_its_url(app: Flask, tmp_path: Path) -> None:
    assert app.static_folder is not None
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    before = _stylesheet_url(static)
    again = _stylesheet_url(static)

    with (static / "style.css").open("a", encoding="utf-8") as file:
        file.write("\n.changed { color: inherit; }\n")
    after = _stylesheet_url(static)

    assert before == again
    assert after != before
    assert after.startswith("/static/style.css?v=")


def test_outside_production_an_edited_file_gets_its_new_url_at_once(
    app: Flask, tmp_path: Path
) -> None:
    # `make run` has no reloader: the old URL, kept for a year, would hide the edit.
    assert app.static_folder is not None
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    with app.test_request_context():
        before = url_for("static", filename="style.css")
        with (static / "style.css").open("a", encoding="utf-8") as file:
            file.write("\n.edited { color: inherit; }\n")
        after = url_for("static", filename="style.css")

    assert after != before
