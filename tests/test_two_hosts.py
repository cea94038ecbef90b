"""Two servers on one PostgreSQL and one Redis, as two hosts behind a balancer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.models import User
from tests.conftest import TEST_REDIS_URL
from tests.factories import PASSWORD
from tests.processes import Browser
from tests.test_server import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def hosts(app: Flask, database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two gunicorns on the test's database and TEST_REDIS_URL; yield their URLs."""
    assert TEST_REDIS_URL
    shared = {
        "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
        # nothing counted in Redis by an earlier run counts here
        "FLASK_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    with (
        gunicorn(database_url, tmp_path / "a.log", env=shared) as a,
        gunicorn(database_url, tmp_path / "b.log", env=shared) as b,
    ):
        yield a, b


def sign_in(browser: Browser, base: str, email: str, password: str = PASSWORD) -> int:
    page = browser.submit(f"{base}/auth/login", {"email": email, "password": password})
    return page.status if page.url != f"{base}/" else 302


def test_a_session_made_on_one_host_works_on_the_other(
    hosts: tuple[str, str], make_user: Callable[..., User]
) -> None:
    a, b = hosts
    user = make_user()
    browser = Browser()

    assert sign_in(browser, a, user.email) == 302
    profile = browser.open(f"{b}/account/profile")

    assert profile.url == f"{b}/account/profile"
    assert user.name in profile.text


def test_a_session_revoked_on_one_host_is_dead_on_the_other(
    hosts: tuple[str, str], make_user: Callable[..., User]
) -> None:
    a, b = hosts
    user = make_user()
    laptop, phone = Browser(), Browser()
    assert sign_in(phone, b, user.email) == 302
    assert sign_in(laptop, a, user.email) == 302
    page = laptop.open(f"{a}/account/sessions")
    # Only the other browser's session has an end button: the phone's.
    [other] = re.findall(r'action="/account/sessions/(\d+)/revoke"', page.text)

    laptop.submit(f"{a}/account/sessions/{other}/revoke", {}, page="/account/sessions")

    assert phone.open(f"{b}/account/profile").url.startswith(f"{b}/auth/login")
    assert phone.open(f"{a}/account/profile").url.startswith(f"{a}/auth/login")
    assert laptop.open(f"{b}/account/profile").url == f"{b}/account/profile"


def test_failed_sign_ins_are_counted_across_both_hosts(
    hosts: tuple[str, str], make_user: Callable[..., User]
) -> None:
    a, b = hosts
    user = make_user()
    browser = Browser()
    wrong = "not the password at all"

    failures = [sign_in(browser, host, user.email, wrong) for host in (a, a, a, b, b)]

    assert failures == [401] * 5  # five allowed a minute (LOGIN_LIMIT_PER_EMAIL)
    assert sign_in(browser, a, user.email, wrong) == 429
    assert sign_in(browser, b, user.email) == 429
