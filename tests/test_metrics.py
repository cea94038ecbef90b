"""GET /metrics: off unless enabled, guarded in production, summed over workers.

The counters live once per process (app/metrics.py), so each test compares the
exposition before and after what it does.
"""

from __future__ import annotations

import socket
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from app import ConfigError, create_app
from app.extensions import db
from app.models import OutboxMail, User
from app.services.mailer import deliver_due
from tests.conftest import BrowserLikeClient, free_port, link_in, sign_in, submit
from tests.test_server import gunicorn
from tests.two_factor import second_step, turn_on

FAMILIES = (
    "vestibule_http_requests",
    "vestibule_http_request_duration_seconds",
    "vestibule_sign_ins",
    "vestibule_sign_in_failures",
    "vestibule_lockouts",
    "vestibule_rate_limit_hits",
    "vestibule_mail_attempts",
)
WRONG = "not the password at all"
TOKEN = "a-long-random-metrics-token"


def read(client: FlaskClient, **kwargs: Any) -> dict[tuple[str, frozenset[Any]], float]:
    """GET /metrics; return each sample's value by name and labels."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, frozenset[Any]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str):
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(
    before: dict[tuple[str, frozenset[Any]], float],
    after: dict[tuple[str, frozenset[Any]], float],
    name: str,
    **labels: str,
) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# --- off ----------------------------------------------------------------------


def test_metrics_are_off_unless_enabled(app: Flask, client: FlaskClient) -> None:
    response = client.get("/metrics")

    assert response.status_code == 404
    assert response.is_json  # as /healthz and /readyz answer their errors
    assert "metrics" not in app.view_functions


# --- on -----------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"METRICS_ENABLED": True}], ids=["on"])
def test_the_exposition_lists_every_family(client: FlaskClient) -> None:
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert set(FAMILIES) <= names


@pytest.mark.parametrize("app_config", [{"METRICS_ENABLED": True}], ids=["on"])
def test_requests_are_counted_by_endpoint_and_status_class(
    client: FlaskClient,
) -> None:
    before = read(client)
    for _ in range(3):
        client.get("/")
    client.get("/no/such/page/12345")

    after = read(client)

    requests = "vestibule_http_requests_total"
    assert moved(before, after, requests, endpoint="main.index", status="2xx") == 3
    assert moved(before, after, requests, endpoint="unmatched", status="4xx") == 1
    seconds = "vestibule_http_request_duration_seconds_count"
    assert moved(before, after, seconds, endpoint="main.index") == 3


@pytest.mark.parametrize("app_config", [{"METRICS_ENABLED": True}], ids=["on"])
def test_sign_ins_and_failed_sign_ins_are_counted(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    before = read(client)

    assert sign_in(client, user.email, WRONG).status_code == 401
    assert sign_in(client, "nobody@example.com", WRONG).status_code == 401
    assert sign_in(client, user.email).status_code == 302

    after = read(client)
    failures = "vestibule_sign_in_failures_total"
    assert moved(before, after, "vestibule_sign_ins_total") == 1
    assert moved(before, after, failures, reason="password") == 1
    assert moved(before, after, failures, reason="no_account") == 1
    assert moved(before, after, failures, reason="two_factor") == 0


@pytest.mark.parametrize("app_config", [{"METRICS_ENABLED": True}], ids=["on"])
def test_a_wrong_two_factor_code_is_a_failed_sign_in(
    app: Flask, client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    sign_in(client, user.email)
    turn_on(client)
    submit(client, "/", {}, action="/auth/logout")
    assert sign_in(client, user.email).status_code == 302  # to the second step
    before = read(client)

    second_step(client, "000000")

    after = read(client)
    failures = "vestibule_sign_in_failures_total"
    assert moved(before, after, failures, reason="two_factor") == 1
    assert moved(before, after, "vestibule_sign_ins_total") == 0


@pytest.mark.parametrize(
    "app_config",
    [{"METRICS_ENABLED": True, "LOCKOUT_THRESHOLD": 2}],
    ids=["locks after 2"],
)
def test_a_lockout_is_counted(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    before = read(client)

    for _ in range(2):
        assert sign_in(client, user.email, WRONG).status_code == 401

    after = read(client)
    assert moved(before, after, "vestibule_lockouts_total") == 1


@pytest.mark.parametrize(
    "app_config",
    [{"METRICS_ENABLED": True, "LOGIN_LIMIT_PER_EMAIL": "1 per minute"}],
    ids=["1 per minute"],
)
def test_a_rate_limited_request_is_counted(
    client: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    before = read(client)

    assert sign_in(client, user.email, WRONG).status_code == 401
    assert sign_in(client, user.email, WRONG).status_code == 429

    after = read(client)
    hits = "vestibule_rate_limit_hits_total"
    assert moved(before, after, hits, endpoint="auth.login_submit") == 1


@pytest.mark.parametrize("app_config", [{"METRICS_ENABLED": True}], ids=["on"])
def test_mail_sent_retried_and_undelivered_are_counted(
    app: Flask, client: FlaskClient
) -> None:
    app.config.update(MAIL_MAX_ATTEMPTS=2, MAIL_SERVER=None)
    before = read(client)
    with app.app_context():
        db.session.add(OutboxMail(recipient="a@example.com", subject="s", body="b"))
        db.session.commit()
        assert deliver_due() == 1  # to the log
        failing = OutboxMail(recipient="b@example.com", subject="s", body="b")
        db.session.add(failing)
        db.session.commit()
        # nothing listens there: each attempt fails
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
        assert deliver_due() == 0
        failing.next_attempt_at = failing.created_at
        db.session.commit()
        assert deliver_due() == 0
        db.session.remove()

    after = read(client)
    attempts = "vestibule_mail_attempts_total"
    assert moved(before, after, attempts, outcome="sent") == 1
    assert moved(before, after, attempts, outcome="retried") == 1
    assert moved(before, after, attempts, outcome="undelivered") == 1


@pytest.mark.parametrize("app_config", [{"METRICS_ENABLED": True}], ids=["on"])
def test_a_reset_links_token_never_appears_in_the_exposition(
    client: FlaskClient,
    make_user: Callable[..., User],
    outbox: Callable[[], list[OutboxMail]],
) -> None:
    user = make_user()
    submit(client, "/auth/forgot", {"email": user.email})
    link = link_in(outbox()[-1].body)
    token = link.rsplit("/", 1)[1]
    before = read(client)

    assert client.get(link).status_code == 200
    submit(client, link, {"password": WRONG, "confirm": WRONG + "x"})

    text = client.get("/metrics").get_data(as_text=True)
    assert token not in text
    assert token[:16] not in text
    requests = "vestibule_http_requests_total"
    assert (
        moved(before, parse(text), requests, endpoint="auth.reset", status="2xx") == 2
    )


# --- production: a token or an allowed address --------------------------------


def production_app(database_url: str, **overrides: Any) -> Flask:
    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "ALLOW_SQLITE_IN_PRODUCTION": True,  # the suite's own database
            "WEB_CONCURRENCY": 1,
            "BASE_URL": "https://accounts.example.org",
            "METRICS_ENABLED": True,
            **overrides,
        }
    )
    app.test_client_class = BrowserLikeClient
    return app


def test_production_refuses_to_start_metrics_open_to_all(database_url: str) -> None:
    with pytest.raises(ConfigError, match="METRICS_TOKEN or METRICS_ALLOWED_IPS"):
        production_app(database_url)


def test_in_production_only_the_right_token_reads_the_metrics(
    database_url: str,
) -> None:
    client = production_app(database_url, METRICS_TOKEN=TOKEN).test_client()

    refused = [
        client.get("/metrics"),
        client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}),
        client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
    ]
    answered = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert [response.status_code for response in refused] == [403, 403, 403]
    assert all(response.is_json for response in refused)
    assert answered.status_code == 200
    assert "vestibule_http_requests_total" in answered.text


def test_in_production_an_allowed_address_reads_the_metrics(
    database_url: str,
) -> None:
    app = production_app(database_url, METRICS_ALLOWED_IPS="192.0.2.7, 10.0.0.0/8")
    client = app.test_client()

    def status_from(address: str) -> int:
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        return response.status_code

    assert status_from("10.1.2.3") == 200
    assert status_from("192.0.2.7") == 200
    assert status_from("192.0.2.8") == 403
    assert status_from("127.0.0.1") == 403


# --- under gunicorn: every worker's counts, added up ---------------------------


def test_two_workers_report_the_sum_of_their_requests(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # Counts an earlier run left: the master empties the directory at start.
    stale = MmapedDict(str(directory / "counter_1.db"))
    stale.write_value(
        mmap_key(
            "vestibule_http_requests",
            "vestibule_http_requests_total",
            ["endpoint", "status"],
            ["main.index", "2xx"],
            "",
        ),
        1000.0,
        0.0,
    )
    stale.close()
    monkeypatch.setenv("METRICS_ENABLED", "true")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    with gunicorn(database_url, tmp_path / "gunicorn.log") as base:
        # A request left unfinished holds one sync worker: the next ones go to the
        # other, and then the held one is served, by the first.
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        with socket.create_connection((host, int(port))) as held:
            held.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")
            for _ in range(5):
                with urllib.request.urlopen(f"{base}/") as answer:  # noqa: S310
                    assert answer.status == 200
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.recv(12) == b"HTTP/1.1 200"
        # A single worker's own count would be 1 or 5.
        with urllib.request.urlopen(f"{base}/metrics") as answer:  # noqa: S310
            samples = parse(answer.read().decode())

    requests = "vestibule_http_requests_total"
    assert value(samples, requests, endpoint="main.index", status="2xx") == 6


# --- found in review -----------------------------------------------------------


def test_a_token_of_digits_given_as_flask_metrics_token_reads_the_metrics(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FLASK_<KEY> values are parsed as JSON (docs/configuration.md): "123..." becomes
    # an int, and _Access.allows calls .encode() on it: 500 for the right token.
    token = "12345678901234567890"
    monkeypatch.setenv("FLASK_METRICS_TOKEN", token)
    app = production_app(database_url)  # the token from the environment only

    response = app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
