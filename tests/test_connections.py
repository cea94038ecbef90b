"""Pooled connections that the database server dropped, on a real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests import conftest
from tests.conftest import sign_in

pytestmark = pytest.mark.postgres

# The pool's connections carry this name, so the test drops only its own.
APPLICATION_NAME = f"vestibule-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {
        "DATABASE_PING_AFTER_IDLE": request.param,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "connect_args": {"application_name": APPLICATION_NAME}
        },
    }


def drop_pooled_connections() -> None:
    """End the app's server sessions, as a database restart would."""
    engine = create_engine(str(conftest.TEST_DATABASE_URL))
    mine = {"name": APPLICATION_NAME}
    with engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"
            ),
            mine,
        ).scalar_one()
        assert ended > 0, "the app held no pooled connection to drop"
        for _ in range(50):
            left = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                mine,
            ).scalar_one()
            if left == 0:
                break
            time.sleep(0.1)
    engine.dispose()


@pytest.fixture
def dropped(client, make_user) -> str:
    """Sign a member in, then have the server drop the pool's connections."""
    user = make_user(name="Pooled Pia")
    assert sign_in(client, user.email).status_code == 302
    drop_pooled_connections()
    return user.name


@pytest.mark.parametrize("app_config", [0.0], indirect=True)
def test_idle_connection_dropped_by_server_is_replaced_before_use(client, dropped):
    response = client.get("/users/")

    assert response.status_code == 200
    assert dropped in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [3600.0], indirect=True)
def test_busy_connection_dropped_by_server_costs_one_request(client, dropped):
    first = client.get("/users/")
    second = client.get("/users/")

    assert first.status_code == 503
    assert "Temporarily unavailable" in first.get_data(as_text=True)
    assert second.status_code == 200
    assert dropped in second.get_data(as_text=True)
