"""`GET /metrics` in Prometheus's text format, off unless METRICS_ENABLED.

Who may read it: anyone, or only a bearer of METRICS_TOKEN or an address in
METRICS_ALLOWED_IPS. What it tells is counted in metrics.py; `init_metrics` turns
both on for an app.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, Response, abort, current_app, request

from app.config import ConfigError
from app.metrics import count_requests, start_counting


@dataclass(frozen=True)
class _Access:
    """Who may read /metrics: anyone, or a bearer token or an address allowed."""

    token: str | None
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def allows(self) -> bool:
        if self.token is None and not self.networks:
            return True
        if self.token is not None:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return True
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def init_metrics(app: Flask) -> None:
    """Serve /metrics and count this app's requests, if METRICS_ENABLED.

    Off, nothing is added: /metrics is a 404 like any unknown address, and no
    request pays for counting. In production /metrics needs METRICS_TOKEN or
    METRICS_ALLOWED_IPS, or the app refuses to start; wherever either is set, a
    request with neither gets 403. Raises ConfigError for that refusal, or for
    METRICS_ALLOWED_IPS naming something that is not an address or network.
    """
    config = app.config
    if not config["METRICS_ENABLED"]:
        return
    token = config["METRICS_TOKEN"]
    access = _Access(
        # FLASK_METRICS_TOKEN is read as JSON: a token of digits arrives as a number
        token=str(token) if token not in (None, "") else None,
        networks=_networks(config["METRICS_ALLOWED_IPS"]),
    )
    open_to_all = access.token is None and not access.networks
    if config["APP_ENV"] == "production" and open_to_all:
        raise ConfigError(
            "METRICS_ENABLED in production needs METRICS_TOKEN or METRICS_ALLOWED_IPS"
        )
    app.extensions["metrics"] = access
    app.add_url_rule("/metrics", "metrics", _metrics)
    count_requests(app)


def _networks(
    text: str | Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Read "10.0.0.5, 192.168.0.0/24" (or a list of them) as networks."""
    items = text.split(",") if isinstance(text, str) else text
    try:
        return tuple(
            ipaddress.ip_network(item.strip(), strict=False)
            for item in items
            if item.strip()
        )
    except ValueError as error:
        raise ConfigError(f"METRICS_ALLOWED_IPS: {error}") from None


def _metrics() -> Response:
    access: _Access = current_app.extensions["metrics"]
    if not access.allows():
        abort(403)
    families = start_counting()  # built already, by init_metrics
    response = Response(
        families.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
