"""Production refuses to start on settings that would fail it, saying the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import ConfigError, create_app
from tests.processes import Browser
from tests.test_configuration import ROOT, run
from tests.test_server import gunicorn

POSTGRES = "postgresql+psycopg://vestibule@db.invalid/vestibule"
REDIS = "redis://cache.invalid:6379/0"


def production(**settings: Any) -> None:
    """Build a production app from sound settings with `settings` over them.

    The database is only named, never reached: the checks run before any connection.
    """
    create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": POSTGRES,
            "RATELIMIT_STORAGE_URI": REDIS,
            "WEB_CONCURRENCY": 4,
            "BASE_URL": "https://accounts.example.org",
            **settings,
        }
    )


def test_sound_production_settings_start() -> None:
    production()


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ConfigError, match="ALLOW_SQLITE_IN_PRODUCTION=true"):
        production(SQLALCHEMY_DATABASE_URI="sqlite:///site.db")


def test_production_serves_sqlite_when_told_to() -> None:
    production(
        SQLALCHEMY_DATABASE_URI="sqlite:///site.db", ALLOW_SQLITE_IN_PRODUCTION=True
    )


def test_production_refuses_limits_in_memory_with_several_workers() -> None:
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY=4 workers"):
        production(RATELIMIT_STORAGE_URI="memory://")


def test_production_keeps_limits_in_memory_for_one_worker() -> None:
    production(RATELIMIT_STORAGE_URI="memory://", WEB_CONCURRENCY=1)


def test_development_starts_on_sqlite_and_memory() -> None:
    create_app(
        {
            "APP_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///site.db",
            "RATELIMIT_STORAGE_URI": "memory://",
            "WEB_CONCURRENCY": 4,
        }
    )


SOUND = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 32,
    "DATABASE_URL": POSTGRES,
    "BASE_URL": "https://accounts.example.org",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variables", "fix"),
    [
        ({**SOUND, "SECRET_KEY": ""}, "set SECRET_KEY to a long random value"),
        (
            {**SOUND, "DATABASE_URL": "sqlite:///site.db"},
            "set DATABASE_URL to PostgreSQL",
        ),
        ({**SOUND, "WEB_CONCURRENCY": "3"}, "set RATELIMIT_STORAGE_URI to redis://"),
        ({**SOUND, "BASE_URL": ""}, "set BASE_URL to the site's public address"),
    ],
    ids=["no SECRET_KEY", "SQLite", "memory:// and 3 workers", "no BASE_URL"],
)
def test_gunicorn_refuses_to_start_with_one_line_naming_the_fix(
    tmp_path: Path, variables: dict[str, str], fix: str
) -> None:
    result = run(
        tmp_path,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--chdir",
        str(ROOT),
        "--bind",
        "127.0.0.1:0",
        "wsgi:app",
        **variables,
    )

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    assert fix in line


def test_production_refuses_to_start_without_base_url() -> None:
    with pytest.raises(ConfigError, match="set BASE_URL to the site's public address"):
        production(BASE_URL=None)


@pytest.mark.parametrize(
    "rp_id", ["accounts.example.org", "example.org", "ACCOUNTS.example.org"]
)
def test_a_passkey_rp_id_that_the_origin_belongs_to_starts(rp_id: str) -> None:
    production(PASSKEY_RP_ID=rp_id)


@pytest.mark.parametrize(
    "rp_id", ["other.example.org", "xample.org", "evil.com", "www.accounts.example.org"]
)
def test_a_passkey_rp_id_that_does_not_fit_the_origin_refuses_to_start(
    rp_id: str,
) -> None:
    with pytest.raises(ConfigError, match="does not fit the origin"):
        production(PASSKEY_RP_ID=rp_id)


def test_a_passkey_origin_that_is_no_address_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="PASSKEY_ORIGIN must be an http"):
        production(PASSKEY_ORIGIN="accounts.example.org")


def ready(**settings: Any) -> tuple[int, dict[str, Any]]:
    """Ask /readyz of a production app on a database that answers."""
    app = create_app(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "ALLOW_SQLITE_IN_PRODUCTION": True,
            "BASE_URL": "https://accounts.example.org",
            **settings,
        }
    )
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()


def test_production_without_a_mail_server_is_not_ready_naming_mail() -> None:
    status, answer = ready(MAIL_SERVER=None)

    assert status == 503
    assert answer["failed"] == ["mail"]
    assert answer["checks"] == {
        "database": "ok",
        "mail": "not configured (MAIL_SERVER is unset)",
    }


def test_production_with_a_mail_server_is_ready() -> None:
    status, answer = ready(MAIL_SERVER="smtp.example.org")

    assert status == 200
    assert answer["failed"] == []


@pytest.mark.slow
def test_a_production_server_without_a_mail_server_says_so_in_one_line(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    settings = {
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 32,
        "ALLOW_SQLITE_IN_PRODUCTION": "true",  # the suite's database may be SQLite
        "BASE_URL": "https://accounts.example.org",
        "MAIL_SERVER": "",
    }
    with gunicorn(database_url, log, env=settings) as base:
        readiness = Browser().open(f"{base}/readyz")

    assert readiness.status == 503
    assert json.loads(readiness.text)["failed"] == ["mail"]
    [line] = [line for line in log.read_text().splitlines() if "mail is" in line]
    assert "WARNING" in line
    assert "not configured (MAIL_SERVER is unset): no mail leaves" in line
