"""Log lines carry the id of the request they belong to."""

from __future__ import annotations

import logging
import re

import pytest

from app import create_app
from app.web.access_log import REDACTED, redact
from tests.conftest import CSRF_RE, link_in
from tests.factories import PASSWORD
from tests.processes import Browser
from tests.smtp import SmtpInbox
from tests.test_server import gunicorn


def test_log_lines_carry_the_request_id_sent_back_to_the_client(capsys):
    loggers = [logging.getLogger(name) for name in ("vestibule", "app")]
    saved = [list(logger.handlers) for logger in loggers]
    for logger in loggers:
        logger.handlers.clear()
    try:
        app = create_app(
            {
                "APP_ENV": "development",
                "LOAD_MIGRATIONS": False,
                "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-dir/vestibule.db",
            }
        )
        response = app.test_client().get("/readyz")
    finally:
        for logger, handlers in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers

    assert response.status_code == 503
    request_id = response.headers["X-Request-ID"]
    logged = capsys.readouterr().err
    assert f"request={request_id} readiness check: database unreachable" in logged


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_a_trusted_proxys_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    replaced = client.get("/healthz", headers={"X-Request-ID": "x y\tz=<script>"})

    assert kept.headers["X-Request-ID"] == "lb-1234.abc"
    assert replaced.headers["X-Request-ID"] != "x y\tz=<script>"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_without_a_trusted_proxy_a_clients_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})

    assert response.headers["X-Request-ID"] != "lb-1234.abc"
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_database_error_names_no_value_it_was_given(app):
    # The message of a database error is logged; a value may be a secret.
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.extensions import db

    # (A server may quote a value in its own words, a unique key say: that part is
    # the database's. What SQLAlchemy adds, the statement's values, is left out.)
    with app.app_context():
        with pytest.raises(DBAPIError) as raised:
            db.session.execute(
                text("SELECT :secret FROM no_such_table"),
                {"secret": "JBSWY3DPEHPK3PXP-a-secret"},
            )
        db.session.rollback()
        db.session.remove()

    assert "parameters hidden" in str(raised.value)
    assert "JBSWY3DPEHPK3PXP" not in str(raised.value)


# --- one line per request, and no secret in any log ---------------------------------


def test_each_request_writes_one_line_naming_its_endpoint_and_user(
    client, signed_in, caplog
):
    caplog.set_level(logging.INFO, logger="vestibule.request")

    client.get("/account/profile")

    [record] = [r for r in caplog.records if r.name == "vestibule.request"]
    line = record.getMessage()
    assert line.startswith("method=GET endpoint=account.profile status=200 ")
    assert re.search(r" duration_ms=\d+\.\d ", line)
    assert line.endswith(f" user={signed_in.id}")


def test_a_request_line_names_the_page_never_its_token(client, caplog):
    caplog.set_level(logging.INFO, logger="vestibule.request")

    client.get("/auth/reset/a-token-from-a-mail")

    [record] = [r for r in caplog.records if r.name == "vestibule.request"]
    assert "endpoint=auth.reset status=400" in record.getMessage()
    assert "a-token-from-a-mail" not in record.getMessage()


def test_every_page_with_a_token_in_its_path_is_redacted_in_the_access_log(app):
    token_rules = [r for r in app.url_map.iter_rules() if "token" in r.arguments]
    assert len(token_rules) >= 6
    adapter = app.url_map.bind("localhost")
    for rule in token_rules:
        path = adapter.build(rule.endpoint, {"token": "SECRET.token-value_1"})
        line = f'GET {path}?next=%2F HTTP/1.1" 200 - "https://site{path}"'

        redacted = redact(line)

        assert "SECRET" not in redacted, rule.rule
        assert redacted.count(REDACTED) == 2


@pytest.mark.slow
def test_the_logs_of_a_served_run_hold_no_token_password_or_cookie(
    app, database_url, tmp_path
):
    inbox = SmtpInbox()
    inbox.start()
    log = tmp_path / "gunicorn.log"
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(inbox.port)}
    browser = Browser()
    secrets: set[str] = set()
    email, first, second = "grace@example.com", PASSWORD, "lantern orchard quietly 16"

    def submit(url: str, fields: dict[str, str]) -> str:
        page = browser.submit(url, fields)
        secrets.update(browser.cookie_values())
        secrets.update(CSRF_RE.findall(page.text))
        return page.url

    try:
        # The per-address sign-in limit refuses the third wrong password below; one
        # worker, which counts them all (memory:// limits are per process).
        env = {
            **mail,
            "MAIL_USE_TLS": "false",
            "FLASK_LOGIN_LIMIT_PER_EMAIL": "2/hour",
            "WEB_CONCURRENCY": "1",
        }
        with gunicorn(database_url, log, env=env) as base:
            fields = {"name": "Grace", "email": email, "password": first}
            submit(f"{base}/auth/register", {**fields, "confirm": first})
            verify = link_in(
                inbox.wait_for(email, "Confirm your e-mail address").get_content()
            )
            assert submit(base + verify, {}) == f"{base}/"
            submit(f"{base}/auth/logout", {})
            submit(f"{base}/auth/forgot", {"email": email})
            reset = link_in(inbox.wait_for(email, "Reset your password").get_content())
            submit(base + reset, {"password": second, "confirm": second})
            signed_in = submit(
                f"{base}/auth/login", {"email": email, "password": second}
            )
            assert signed_in == f"{base}/"
            assert browser.open(f"{base}/account/profile").status == 200
            submit(f"{base}/auth/logout", {})
            # Flask-Limiter logs a refusal with its key: the address typed in.
            wrong = {"email": email, "password": "not the password"}
            refused = [browser.submit(f"{base}/auth/login", wrong).status]
            refused += [browser.submit(f"{base}/auth/login", wrong).status]
            refused += [browser.submit(f"{base}/auth/login", wrong).status]
            assert refused == [401, 401, 429]
    finally:
        inbox.stop()

    tokens = [verify.rsplit("/", 1)[1], reset.rsplit("/", 1)[1]]
    logged = log.read_text()
    for value in [*tokens, first, second, *secrets, email]:
        assert value not in logged
    access = [
        line for line in logged.splitlines() if '" 200 ' in line or '" 30' in line
    ]
    assert any(f"POST /auth/verify/{REDACTED} " in line for line in access)
    assert any(f"GET /auth/reset/{REDACTED} " in line for line in access)
    # Gunicorn's line and the app's line, for each request.
    requests = [line for line in logged.splitlines() if "vestibule.request" in line]
    assert len(requests) == len(re.findall(r'"(?:GET|POST) /', logged))
    assert all(re.search(r" request=[0-9a-f]{32} method=", line) for line in requests)
    assert any("endpoint=account.profile status=200" in line for line in requests)


def test_flask_limiters_line_for_a_refusal_is_dropped_and_its_other_lines_kept(
    client, make_user, caplog, monkeypatch
):
    # Its key holds the address typed; configure_logging's filter drops it.
    from app.log import without_refusals
    from tests.conftest import sign_in

    user = make_user(email="typo.prone@example.com")
    # Unfiltered here (an app of an earlier test may have set the filter), so
    # the lines Flask-Limiter logs are seen and the filter is asked about each.
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "filters", [])

    caplog.set_level(logging.INFO, logger="flask-limiter")
    for _ in range(6):  # the per-address limit: 5 failed sign-ins a minute
        refused = sign_in(client, user.email, "a wrong guess")
    assert refused.status_code == 429
    lines = [r for r in caplog.records if r.name == "flask-limiter"]
    with_address = [r for r in lines if user.email in r.getMessage()]
    assert with_address
    assert not any(without_refusals(r) for r in with_address)

    # A storage failure or recovery, said without arguments, passes.
    caplog.clear()
    limiter_log = logging.getLogger("flask-limiter")
    limiter_log.info("Rate limit storage recovered")
    limiter_log.warning("Rate limit storage unreachable - falling back")
    kept = [r for r in caplog.records if r.name == "flask-limiter"]
    assert len(kept) == 2 and all(without_refusals(r) for r in kept)
