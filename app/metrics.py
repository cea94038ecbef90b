"""What Vestibule counts for Prometheus; metrics_endpoint.py serves it at `/metrics`.

What is counted (docs/operations.md, "Metrics"): requests and their seconds per
endpoint, sign-ins, failed sign-ins, lockouts, rate-limit refusals and mail deliveries.

Under gunicorn every worker counts into files of its own in the directory that
PROMETHEUS_MULTIPROC_DIR names, and `/metrics`, whichever worker answers, adds up
every file: prometheus_client's multiprocess mode. gunicorn.conf.py names the
directory (a new temporary one unless the variable is set) before anything imports
prometheus_client, which reads the variable once, at its import; the master empties
it at start. This module imports prometheus_client only when an app turns metrics on,
so processes that never do (the test suite's apps, commands) go without. A process
without the variable (`flask run`, the test suite) counts in its own memory alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, request
from sqlalchemy import event
from sqlalchemy.orm import object_session

from app.extensions import db
from app.models import SecurityEvent

if TYPE_CHECKING:
    from flask_limiter import RequestLimit
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Mapper, Session

    from app.models import OutboxMail

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The endpoint label of a request no route matched (a 404, a 405).
UNMATCHED = "unmatched"
# Security-log kinds counted at commit: the counter each moves, and its reason label.
SIGN_IN = "sign_in"
SIGN_IN_PASSKEY = "sign_in_passkey"
FAILURE_REASONS = {"sign_in_failed": "password", "two_factor_failed": "two_factor"}
LOCKOUT = "lockout"
# A failed sign-in for an address with no account: the security log has no account
# to write it to, so app/services/sign_in.py counts it itself.
NO_ACCOUNT = "no_account"
MAIL_OUTCOMES = ("sent", "retried", "undelivered")
# Key in a request's WSGI environment: when the app began on it.
_STARTED = "vestibule.metrics.started"
# Key in a database session's `info`: security-log kinds flushed, not yet committed.
_EVENTS_PENDING = "metrics_events"


class Families:
    """The metric families, built once per process by the first app that counts.

    `exposition()` gives them in Prometheus's text format, as bytes.
    """

    def __init__(self) -> None:
        # Imported here, after gunicorn.conf.py (or the environment) named the
        # directory: prometheus_client picks its mode at import.
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.multiprocess = MULTIPROCESS_DIR in os.environ
        if self.multiprocess:
            Path(os.environ[MULTIPROCESS_DIR]).mkdir(parents=True, exist_ok=True)
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "vestibule_http_requests",
            "Requests answered, by Flask endpoint and status class (2xx, 4xx ...).",
            ["endpoint", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "vestibule_http_request_duration_seconds",
            "Seconds from a request's arrival to its answer, by Flask endpoint.",
            ["endpoint"],
            registry=registry,
        )
        self.sign_ins = Counter(
            "vestibule_sign_ins",
            "Sign-ins that succeeded (written to the security log).",
            registry=registry,
        )
        self.sign_in_failures = Counter(
            "vestibule_sign_in_failures",
            "Failed sign-ins: wrong password, wrong two-factor code, or an address "
            "without an account.",
            ["reason"],
            registry=registry,
        )
        self.lockouts = Counter(
            "vestibule_lockouts",
            "Addresses locked after too many failed sign-ins (those with an account).",
            registry=registry,
        )
        self.rate_limited = Counter(
            "vestibule_rate_limit_hits",
            "Requests refused by a rate limit, by Flask endpoint.",
            ["endpoint"],
            registry=registry,
        )
        self.mail = Counter(
            "vestibule_mail_attempts",
            "Attempts to send a mail: sent, failed and retried later, or failed for "
            "the last time (undelivered).",
            ["outcome"],
            registry=registry,
        )
        # Every series known in advance starts at 0, so that each is listed.
        for reason in (*FAILURE_REASONS.values(), NO_ACCOUNT):
            self.sign_in_failures.labels(reason)
        for outcome in MAIL_OUTCOMES:
            self.mail.labels(outcome)

    def exposition(self) -> bytes:
        """Return every family in Prometheus's text format (every worker's, summed)."""
        from prometheus_client import generate_latest

        registry: CollectorRegistry = self.registry
        if self.multiprocess:
            from prometheus_client import CollectorRegistry
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


_families: Families | None = None


class _RequestMetrics:
    """Count each request and its seconds, by endpoint and status class.

    Two hooks: the first before every other before-request hook, the second after
    every other after-request hook, so that the seconds cover the app's own work on
    the request. The label is the Flask endpoint's name, never the path: a path
    can hold a token (/auth/reset/<token>) and any number of ids. Each (endpoint,
    status class) pair's series are looked up once and kept.
    """

    def __init__(self, families: Families) -> None:
        self.families = families
        self.series: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def install(self, app: Flask) -> None:
        app.before_request_funcs.setdefault(None, []).insert(0, self.start)
        # after-request hooks run last registered first
        app.after_request_funcs.setdefault(None, []).insert(0, self.count)

    def start(self) -> None:
        request.environ[_STARTED] = perf_counter()

    def count(self, response: Response) -> Response:
        environ = request.environ
        started = environ.get(_STARTED)
        if started is None:  # a request context without a request (tests)
            return response
        seconds = perf_counter() - started
        endpoint = request.endpoint or UNMATCHED
        key = (endpoint, f"{response.status_code // 100}xx")
        series = self.series.get(key)
        if series is None:
            families = self.families
            series = (families.requests.labels(*key), families.seconds.labels(endpoint))
            self.series[key] = series
        series[0].inc()
        series[1].observe(seconds)
        return response


def count_requests(app: Flask) -> None:
    """Count each of the app's requests and its seconds; start counting the rest."""
    _RequestMetrics(start_counting()).install(app)


def start_counting() -> Families:
    """Build the families and listen for what they count, once per process.

    Returns the families (the same object at every call).
    """
    global _families
    if _families is not None:
        return _families
    _families = Families()
    event.listen(SecurityEvent, "after_insert", _note_security_event)
    event.listen(db.session, "after_commit", _count_committed_events)
    event.listen(db.session, "after_rollback", _forget_events)
    return _families


def _note_security_event(
    mapper: Mapper[Any], connection: Connection, target: SecurityEvent
) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_EVENTS_PENDING, []).append(target.kind)


def _count_committed_events(session: Session) -> None:
    """Count sign-ins, failures and lockouts once their log rows are committed."""
    kinds = session.info.pop(_EVENTS_PENDING, None)
    if not kinds or _families is None:
        return
    for kind in kinds:
        if kind in (SIGN_IN, SIGN_IN_PASSKEY):
            _families.sign_ins.inc()
        elif kind == LOCKOUT:
            _families.lockouts.inc()
        elif kind in FAILURE_REASONS:
            _families.sign_in_failures.labels(FAILURE_REASONS[kind]).inc()


def _forget_events(session: Session) -> None:
    session.info.pop(_EVENTS_PENDING, None)


def count_sign_in_failure_without_account() -> None:
    """Count a failed sign-in for an address that has no account.

    Counted at once: the caller calls it after committing the failure.
    """
    if _families is not None:
        _families.sign_in_failures.labels(NO_ACCOUNT).inc()


def count_rate_limit_hit(limit: RequestLimit) -> None:
    """Count a request a limit refused, by the endpoint of the request in hand.

    Called by the limiter's `on_breach` (web/ratelimits.py); `limit` is not read.
    """
    if _families is not None:
        _families.rate_limited.labels(request.endpoint or UNMATCHED).inc()


def count_mail_attempt(mail: OutboxMail) -> None:
    """Count one committed attempt at `mail`: sent, to be retried, or undelivered."""
    if _families is None:
        return
    if mail.sent_at is not None:
        outcome = "sent"
    elif mail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        outcome = "undelivered"
    else:
        outcome = "retried"
    _families.mail.labels(outcome).inc()


def empty_directory() -> None:
    """Delete the counts of earlier runs: gunicorn's master calls this at start.

    Only prometheus_client's files (*.db) go: a directory named by mistake keeps
    everything else.
    """
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        for path in Path(directory).glob("*.db"):
            path.unlink(missing_ok=True)


def process_exited(pid: int) -> None:
    """Tell prometheus_client that a worker ended (gunicorn's `child_exit`).

    Its counters stay, so that the totals keep what it served; only gauges of
    live processes, should any be added, are dropped.
    """
    if "prometheus_client" in sys.modules and MULTIPROCESS_DIR in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
