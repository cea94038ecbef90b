"""On PostgreSQL a form post runs in one transaction.

(Page views ran in autocommit for a while, to save BEGIN and ROLLBACK; measured
again it saved no instructions, and went: `app/database.py`.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db
from app.models import User
from tests.conftest import csrf_from

pytestmark = pytest.mark.postgres


@contextlib.contextmanager
def transaction_states(app: Flask) -> Iterator[list[str]]:
    """Collect, for each statement run, whether the server had a transaction open."""
    states: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(connection: Any, *args: Any) -> None:
        status = connection.connection.dbapi_connection.info.transaction_status
        states.append(status.name)  # IDLE: autocommit; INTRANS: in a transaction

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield states
    finally:
        event.remove(engine, "after_cursor_execute", record)


def test_a_form_post_runs_in_a_transaction(
    app: Flask, client: FlaskClient, signed_in: User
) -> None:
    form = {"name": "Renamed", "bio": "", "listed": "y"}
    form["csrf_token"] = csrf_from(client.get("/account/profile"))

    with transaction_states(app) as states:
        response = client.post("/account/profile", data=form)

    assert response.status_code == 302
    assert states and set(states) == {"INTRANS"}, states
