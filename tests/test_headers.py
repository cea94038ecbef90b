"""Security headers on every page, no inline script, and the production settings."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

import app.config as config_module
from app import ConfigError, create_app
from app.extensions import db
from tests.conftest import BrowserLikeClient, csrf_from
from tests.factories import PASSWORD

ANONYMOUS_PAGES = [
    "/",
    "/auth/login",
    "/auth/register",
    "/auth/forgot",
    "/no/such/page",
]
SIGNED_IN_PAGES = [
    "/",
    "/users/",
    "/users/me",
    "/account/profile",
    "/account/password",
    "/no/such/page",
]
INLINE_SCRIPT_RE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_ATTRIBUTE_RE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL_RE = re.compile(
    r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE
)


def csp_directives(response: TestResponse) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_security_headers(response: TestResponse) -> None:
    directives = csp_directives(response)
    assert directives.get("default-src") == ["'self'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    for source in ("script-src", "style-src"):
        assert "*" not in directives.get(source, [])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers.get("Referrer-Policy")


def assert_no_inline_script(response: TestResponse) -> None:
    body = response.get_data(as_text=True)
    assert not INLINE_SCRIPT_RE.search(body)
    assert not EVENT_ATTRIBUTE_RE.search(body)
    assert not JAVASCRIPT_URL_RE.search(body)


def visit(client, path: str) -> TestResponse:
    response = client.get(path, follow_redirects=True)
    assert response.mimetype == "text/html"
    return response


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_anonymous_pages_carry_security_headers(client, path):
    assert_security_headers(visit(client, path))


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_carry_security_headers(client, signed_in, path):
    assert_security_headers(visit(client, path))


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_are_not_stored_by_caches(client, signed_in, path):
    response = visit(client, path)

    assert "no-store" in response.headers.get("Cache-Control", "")


def test_form_error_page_carries_security_headers(client):
    response = client.post("/auth/login", data={"email": "x"})

    assert response.status_code == 400
    assert_security_headers(response)


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_anonymous_pages_have_no_inline_script(client, path):
    assert_no_inline_script(visit(client, path))


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_have_no_inline_script(client, signed_in, path):
    assert_no_inline_script(visit(client, path))


def test_member_pages_have_no_inline_script(client, signed_in, make_user):
    member = make_user(name="Other Member", bio="Hello")

    assert_no_inline_script(visit(client, f"/users/{member.id}"))
    assert_no_inline_script(visit(client, "/users/?q=other"))


def test_response_carries_a_request_id(client):
    response = client.get("/")

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


# --- production ---------------------------------------------------------------


def production_app(database_url: str, **overrides: Any) -> Flask:
    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            # the suite's database may be SQLite, its limits are in memory
            "ALLOW_SQLITE_IN_PRODUCTION": True,
            "WEB_CONCURRENCY": 1,
            "BASE_URL": "https://accounts.example.org",
            **overrides,
        }
    )
    app.test_client_class = BrowserLikeClient
    return app


def set_cookie_headers(response: TestResponse, name: str) -> list[str]:
    return [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{name}=")
    ]


@pytest.fixture
def production(app: Flask, database_url: str) -> Iterator[Flask]:
    """A production app on the test database (the `app` fixture cleans it up)."""
    production = production_app(database_url)
    yield production
    with production.app_context():
        db.engine.dispose()


def test_production_sends_hsts(production):
    response = production.test_client().get("/", base_url="https://localhost")

    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 180 * 24 * 3600
    assert_security_headers(response)


def test_development_and_testing_send_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_production_cookies_are_secure(production, make_user):
    user = make_user()
    client = production.test_client()
    https = "https://localhost"

    page = client.get("/auth/login", base_url=https)
    signed = client.post(
        "/auth/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page)},
        base_url=https,
        # over HTTPS the CSRF check also wants a same-site Referer, as browsers send
        headers={"Referer": f"{https}/auth/login"},
    )

    assert signed.status_code == 302
    cookies = set_cookie_headers(page, "vestibule_state") + set_cookie_headers(
        signed, "vestibule_signin"
    )
    assert len(cookies) == 2
    for cookie in cookies:
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "secure" in attributes
        assert "httponly" in attributes
        assert "samesite=lax" in attributes


def test_production_refuses_to_start_without_secret_key(monkeypatch, database_url):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setattr(config_module.Config, "SECRET_KEY", None)
    monkeypatch.setattr(config_module.ProductionConfig, "SECRET_KEY", None)

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": database_url})


def test_production_refuses_an_empty_secret_key(database_url):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        production_app(database_url, SECRET_KEY="")
