"""Where settings come from: environment variables, a .env file for those not set.

Each test starts a fresh Python in a directory of its own, as gunicorn and `flask`
start: settings read at import time in the test process would prove nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The variables the app reads (docs/configuration.md); FLASK_* are dropped too.
APP_VARIABLES = frozenset(
    {
        "APP_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "RATELIMIT_STORAGE_URI",
        "MAIL_SERVER",
        "MAIL_PORT",
        "MAIL_USE_TLS",
        "MAIL_USERNAME",
        "MAIL_PASSWORD",
        "MAIL_DEFAULT_SENDER",
        "BASE_URL",
        "TRUSTED_PROXIES",
        "WEB_CONCURRENCY",
        "ALLOW_SQLITE_IN_PRODUCTION",
        "HOST",
        "PORT",
    }
)
# What `gunicorn wsgi:app` does first, then what the app ended up with.
SHOW_SETTINGS = """
import json
from sqlalchemy import inspect
import wsgi
from app.extensions import db
with wsgi.app.app_context():
    tables = sorted(inspect(db.engine).get_table_names())
config = wsgi.app.config
print(json.dumps({
    "APP_ENV": config["APP_ENV"],
    "SECRET_KEY": config["SECRET_KEY"],
    "DATABASE": config["SQLALCHEMY_DATABASE_URI"],
    "PAGE_SIZE": config["DIRECTORY_PAGE_SIZE"],
    "BASE_URL": config["BASE_URL"],
    "tables": tables,
}))
"""


def clean_environment(**variables: str) -> dict[str, str]:
    """Return this process's environment without any setting of the app, plus these."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if name not in APP_VARIABLES and not name.startswith("FLASK_")
    }
    return {**kept, "PYTHONPATH": str(ROOT), **variables}


def run(
    directory: Path, *command: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run the project's Python in `directory`, as a server started there would."""
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *command],
        cwd=directory,
        env=clean_environment(**variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def served_settings(directory: Path, **variables: str) -> dict[str, object]:
    """Import wsgi in `directory` and return what the app is configured with."""
    result = run(directory, "-c", SHOW_SETTINGS, **variables)
    assert result.returncode == 0, result.stderr
    settings: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return settings


def write_env(directory: Path, **variables: str) -> None:
    lines = [f"{name}={value}" for name, value in variables.items()]
    (directory / ".env").write_text("\n".join(lines) + "\n")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_production_secret_key_in_dotenv_lets_the_web_app_start(tmp_path):
    write_env(
        tmp_path,
        APP_ENV="production",
        SECRET_KEY="key-kept-in-dotenv",
        DATABASE_URL=sqlite_url(tmp_path / "site.db"),
        ALLOW_SQLITE_IN_PRODUCTION="true",
        WEB_CONCURRENCY="1",
        BASE_URL="https://accounts.example.org",
    )

    settings = served_settings(tmp_path)

    assert settings["APP_ENV"] == "production"
    assert settings["SECRET_KEY"] == "key-kept-in-dotenv"


def test_flask_db_upgrade_migrates_the_database_the_web_app_serves(tmp_path):
    database = tmp_path / "from-dotenv.db"
    write_env(tmp_path, DATABASE_URL=sqlite_url(database))

    upgrade = run(tmp_path, "-m", "flask", "--app", "wsgi", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    settings = served_settings(tmp_path)

    assert settings["DATABASE"] == sqlite_url(database)
    assert "users" in settings["tables"]
    assert "alembic_version" in settings["tables"]


def test_variables_already_set_win_over_dotenv(tmp_path):
    write_env(
        tmp_path,
        APP_ENV="production",
        SECRET_KEY="key-kept-in-dotenv",
        DATABASE_URL=sqlite_url(tmp_path / "from-dotenv.db"),
        FLASK_DIRECTORY_PAGE_SIZE="7",
        ALLOW_SQLITE_IN_PRODUCTION="true",
        WEB_CONCURRENCY="1",
        BASE_URL="https://accounts.example.org",
    )
    chosen = sqlite_url(tmp_path / "from-environment.db")

    settings = served_settings(
        tmp_path, DATABASE_URL=chosen, FLASK_DIRECTORY_PAGE_SIZE="9"
    )

    assert settings["SECRET_KEY"] == "key-kept-in-dotenv"
    assert settings["DATABASE"] == chosen
    assert settings["PAGE_SIZE"] == 9


def test_testing_reads_no_dotenv(tmp_path):
    write_env(
        tmp_path,
        SECRET_KEY="key-kept-in-dotenv",
        DATABASE_URL=sqlite_url(tmp_path / "from-dotenv.db"),
        FLASK_DIRECTORY_PAGE_SIZE="7",
    )

    settings = served_settings(
        tmp_path,
        APP_ENV="testing",
        FLASK_SQLALCHEMY_DATABASE_URI=sqlite_url(tmp_path / "testing.db"),
    )

    assert settings["APP_ENV"] == "testing"
    assert settings["SECRET_KEY"] == "testing-secret-key"
    assert settings["PAGE_SIZE"] == 20
    assert not (tmp_path / "from-dotenv.db").exists()


@pytest.mark.parametrize(
    ("variables", "base_url"),
    [
        ({"PORT": "8123"}, "http://localhost:8123"),
        ({"HOST": "0.0.0.0", "PORT": "8123"}, "http://localhost:8123"),  # noqa: S104
        ({"HOST": "192.0.2.7", "PORT": "8123"}, "http://192.0.2.7:8123"),
        ({"HOST": "::1", "PORT": "8123"}, "http://[::1]:8123"),
        (
            {"PORT": "8123", "BASE_URL": "https://a.example.org"},
            "https://a.example.org",
        ),
    ],
    ids=["port", "every interface", "another address", "IPv6", "BASE_URL set"],
)
def test_without_base_url_links_follow_the_host_and_port_served(
    tmp_path: Path, variables: dict[str, str], base_url: str
) -> None:
    # What gunicorn binds to, and what `flask` commands that mail links use.
    settings = served_settings(
        tmp_path, DATABASE_URL=sqlite_url(tmp_path / "site.db"), **variables
    )

    assert settings["BASE_URL"] == base_url
