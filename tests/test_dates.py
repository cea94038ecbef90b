"""Dates read "5 December 2026": the day of the month without a leading zero."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from time_machine import TimeMachineFixture

import app as app_package
from app.models import OutboxMail, User
from tests.conftest import sign_in

Outbox = Callable[[], list[OutboxMail]]
EARLY_IN_THE_MONTH = datetime(2026, 12, 5, 7, 24, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def test_a_members_joined_date_has_no_leading_zero(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    viewer = make_user(name="Viewer", is_listed=False)
    member = make_user(name="Early Member", created_at=EARLY_IN_THE_MONTH)
    sign_in(client, viewer.email)

    directory = client.get("/users/").get_data(as_text=True)
    profile = client.get(f"/users/{member.id}").get_data(as_text=True)

    assert "Joined 5 December 2026" in directory
    assert '<time datetime="2026-12-05">5 December 2026</time>' in profile


def test_times_of_sign_ins_have_no_leading_zero_in_their_day(
    app: Flask,
    make_user: Callable[..., User],
    outbox: Outbox,
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(EARLY_IN_THE_MONTH, tick=False)
    user = make_user()
    first, second = app.test_client(), app.test_client()
    sign_in(first, user.email)
    time_machine.shift(30)  # the same minute; the home page shows the other sign-in
    second.environ_base["HTTP_USER_AGENT"] = FIREFOX
    sign_in(second, user.email)  # a new browser: an alert mail

    pages = {
        path: second.get(path).get_data(as_text=True)
        for path in ["/", "/account/security", "/account/sessions"]
    }
    [alert] = [m for m in outbox() if m.subject.startswith("A new sign-in")]

    for path, page in pages.items():
        assert "5 December 2026, 07:24 UTC" in page, path
        assert "05 December" not in page, path
    assert "5 December 2026, 07:24 UTC" in alert.body
    assert "05 December" not in alert.body


def test_the_admin_list_writes_joined_dates_without_a_leading_zero(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    admin = make_user(is_admin=True, created_at=EARLY_IN_THE_MONTH)
    sign_in(client, admin.email)

    page = client.get("/admin/users").get_data(as_text=True)

    assert "Joined 5 December 2026" in page


def test_no_template_or_module_writes_a_zero_padded_day() -> None:
    root = Path(app_package.__file__).parent
    sources = [*root.rglob("*.html"), *root.rglob("*.txt"), *root.rglob("*.py")]

    padded = [
        str(path.relative_to(root))
        for path in sources
        if re.search(r"%d %B", path.read_text(encoding="utf-8"))
    ]

    assert padded == []
