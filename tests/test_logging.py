"""Log lines carry the id of the request they belong to."""

from __future__ import annotations

import logging

from app import create_app


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


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    replaced = client.get("/healthz", headers={"X-Request-ID": "x y\tz=<script>"})

    assert kept.headers["X-Request-ID"] == "lb-1234.abc"
    assert replaced.headers["X-Request-ID"] != "x y\tz=<script>"
    assert len(replaced.headers["X-Request-ID"]) == 32


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
