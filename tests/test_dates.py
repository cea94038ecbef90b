"""Dates read "5 December 2026" (no leading zero), times in the member's zone, named.

Recent times say how long ago ("2 minutes ago") with the exact time on hover.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from time_machine import TimeMachineFixture
from werkzeug.test import TestResponse

import app as app_package
from app.dates import describe_age, describe_duration, format_date_time
from app.extensions import db
from app.models import OutboxMail, User
from tests.conftest import sign_in, submit
from tests.factories import PASSWORD
from tests.two_factor import code_for, turn_on

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


# --- Time zones: the member's, named; recent times said as ages -------------------

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (MINUTE, "1 minute ago"),
        (timedelta(seconds=119), "1 minute ago"),
        (2 * MINUTE, "2 minutes ago"),
        (59 * MINUTE + timedelta(seconds=59), "59 minutes ago"),
        (HOUR, "1 hour ago"),
        (2 * HOUR + 59 * MINUTE, "2 hours ago"),
        (23 * HOUR + 59 * MINUTE, "23 hours ago"),
        (24 * HOUR, None),  # a day old: the date and time say it
        (timedelta(seconds=-30), "just now"),  # a clock a little ahead
        (-2 * MINUTE, None),
    ],
)
def test_recent_times_are_said_as_ages_with_the_right_plural(
    age: timedelta, said: str | None
) -> None:
    assert describe_age(EARLY_IN_THE_MONTH - age, EARLY_IN_THE_MONTH) == said


@pytest.mark.parametrize(
    ("length", "said"),
    [
        (48 * 3600, "48 hours"),  # whole days below 3 stay hours, as people say them
        (timedelta(hours=24), "24 hours"),
        (3 * 24 * 3600, "3 days"),
        (timedelta(days=30), "30 days"),
        (3600, "1 hour"),
        (2 * 3600, "2 hours"),
        (90 * 60, "90 minutes"),
        (600, "10 minutes"),
        (60, "1 minute"),
        (1, "1 second"),
        (40, "40 seconds"),
        # a wait that is not whole is rounded up, never promised too early
        (0.2, "1 second"),
        (61, "2 minutes"),
        (90 * 60 + 1, "2 hours"),
        (timedelta(days=3, seconds=1), "73 hours"),
        # a wait that a second of a real clock has shortened: still "1 hour"
        (3599, "1 hour"),
        (59 * 60 + 1, "1 hour"),
    ],
)
def test_lengths_of_time_are_said_in_words_with_the_right_plural(
    length: float | timedelta, said: str
) -> None:
    assert describe_duration(length) == said


@pytest.mark.parametrize(
    ("zone", "written"),
    [
        ("Europe/Berlin", "5 December 2026, 08:24 CET"),
        ("America/New_York", "5 December 2026, 02:24 EST"),
        ("America/Sao_Paulo", "5 December 2026, 04:24 UTC-03"),  # no abbreviation
        ("Asia/Kathmandu", "5 December 2026, 13:09 UTC+05:45"),
        ("Pacific/Kiritimati", "5 December 2026, 21:24 UTC+14"),
        ("UTC", "5 December 2026, 07:24 UTC"),
    ],
)
def test_a_time_is_written_in_the_zone_and_names_it(zone: str, written: str) -> None:
    assert format_date_time(EARLY_IN_THE_MONTH, ZoneInfo(zone)) == written


def test_the_security_log_says_how_long_ago_with_the_exact_local_time_on_hover(
    client: FlaskClient,
    make_user: Callable[..., User],
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(EARLY_IN_THE_MONTH, tick=False)
    user = make_user(time_zone="Europe/Berlin")
    sign_in(client, user.email)
    time_machine.shift(3 * HOUR + 5 * MINUTE)

    page = client.get("/account/security").get_data(as_text=True)

    assert (
        '<time datetime="2026-12-05T07:24:00Z" title="5 December 2026, 08:24 CET">'
        "3 hours ago</time>"
    ) in page


def test_a_date_is_the_day_it_was_where_the_reader_lives(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    late_evening = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)  # 6 December in Tokyo
    member = make_user(name="Late Joiner", created_at=late_evening)
    viewer = make_user(time_zone="Asia/Tokyo", is_listed=False)
    sign_in(client, viewer.email)

    profile = client.get(f"/users/{member.id}").get_data(as_text=True)

    assert '<time datetime="2026-12-06">6 December 2026</time>' in profile


def test_an_admin_reads_a_members_last_sign_in_in_the_admins_own_zone(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    make_user(name="Signed In Once", last_login_at=EARLY_IN_THE_MONTH)
    admin = make_user(is_admin=True, time_zone="America/New_York")
    sign_in(client, admin.email)

    page = client.get("/admin/users").get_data(as_text=True)

    assert "5 December 2026, 02:24 EST" in page


def test_the_sign_in_alert_gives_the_time_in_the_members_zone(
    app: Flask,
    make_user: Callable[..., User],
    outbox: Outbox,
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(EARLY_IN_THE_MONTH, tick=False)
    user = make_user(time_zone="Europe/Berlin", time_zone_chosen=True)
    first, second = app.test_client(), app.test_client()
    sign_in(first, user.email)
    second.environ_base["HTTP_USER_AGENT"] = FIREFOX
    sign_in(second, user.email)  # a new browser: an alert mail

    [alert] = [m for m in outbox() if m.subject.startswith("A new sign-in")]

    assert "When:    5 December 2026, 08:24 CET" in alert.body


# --- The zone: from the browser at sign-in, until the member chooses one ----------


def sign_in_from(client: FlaskClient, email: str, time_zone: str) -> TestResponse:
    """Sign in as a browser whose script filled in its zone."""
    return submit(
        client,
        "/auth/login",
        {"email": email, "password": PASSWORD, "time_zone": time_zone},
    )


def zone_of(app: Flask, user_id: int) -> str | None:
    with app.app_context():
        zone = db.session.get_one(User, user_id).time_zone
        db.session.remove()
    return zone


def test_the_sign_in_page_asks_the_browser_for_its_zone_with_a_script_of_its_own(
    client: FlaskClient,
) -> None:
    page = client.get("/auth/login").get_data(as_text=True)

    assert re.search(r'<input[^>]*name="time_zone"[^>]*type="hidden"', page)
    assert re.search(r'<script src="/static/time-zone\.js[^"]*" defer>', page)


def test_each_sign_in_takes_the_browsers_zone_and_times_follow_it(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(EARLY_IN_THE_MONTH, tick=False)
    user = make_user()

    assert sign_in_from(client, user.email, "Europe/Berlin").status_code == 302
    sessions = client.get("/account/sessions").get_data(as_text=True)
    assert zone_of(app, user.id) == "Europe/Berlin"
    traveller = app.test_client()
    assert sign_in_from(traveller, user.email, "Asia/Tokyo").status_code == 302

    assert zone_of(app, user.id) == "Asia/Tokyo"
    assert 'title="5 December 2026, 08:24 CET"' in sessions


@pytest.mark.parametrize("sent", ["", "Mars/Olympus", "localtime", "../../etc/passwd"])
def test_a_sign_in_whose_browser_sends_no_zone_keeps_the_one_it_had(
    app: Flask, client: FlaskClient, make_user: Callable[..., User], sent: str
) -> None:
    user = make_user(time_zone="Europe/Berlin")

    response = sign_in_from(client, user.email, sent)

    assert response.status_code == 302
    assert zone_of(app, user.id) == "Europe/Berlin"


def test_the_second_step_of_a_sign_in_keeps_the_zone_the_password_step_sent(
    app: Flask,
    client: FlaskClient,
    signed_in: User,
    time_machine: TimeMachineFixture,
) -> None:
    time_machine.move_to(EARLY_IN_THE_MONTH, tick=False)
    secret, _ = turn_on(client)
    time_machine.shift(MINUTE)  # the app shows a code not used yet
    browser = app.test_client()

    assert sign_in_from(browser, signed_in.email, "Asia/Tokyo").status_code == 302
    assert zone_of(app, signed_in.id) is None  # not before the second step
    response = submit(browser, "/auth/two-factor", {"code": code_for(secret)})

    assert response.status_code == 302
    assert zone_of(app, signed_in.id) == "Asia/Tokyo"


@pytest.mark.parametrize("code", ["en", "de", "fr", "es", "ar"])
def test_every_length_of_time_is_said_in_words_in_every_language(
    app: Flask, code: str
) -> None:
    with app.test_request_context(), force_locale(code):
        said = [
            describe_duration(seconds)
            for seconds in (1, 40, 60, 90 * 60, 3600, 48 * 3600, 7 * 24 * 3600)
        ]
    assert not [text for text in said if "duration" in text]
    assert len(set(said)) == len(said)
