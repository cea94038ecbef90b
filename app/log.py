"""Logging: one line per record with the request id, and no rate-limit key in it."""

from __future__ import annotations

import logging

from flask import Flask, g, has_app_context

# The name of the request's id on `g` (set by app/web/security.py): logging, which
# every layer uses, reads it there.
REQUEST_ID = "request_id"


def configure_logging(app: Flask) -> None:
    """Log to stderr in one line per record, with the request id when there is one."""
    if app.config["TESTING"]:
        return
    handler = logging.StreamHandler()
    handler.addFilter(add_request_id)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s request=%(request_id)s %(message)s"
        )
    )
    # Flask-Limiter says there when its storage (Redis) fails and when it is back.
    for name in ("vestibule", app.logger.name, "flask-limiter"):
        logger = logging.getLogger(name)
        # once per process; a library's NullHandler (Flask-Limiter adds one) is none
        if all(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    limiter_logger = logging.getLogger("flask-limiter")
    if without_refusals not in limiter_logger.filters:
        limiter_logger.addFilter(without_refusals)


def without_refusals(record: logging.LogRecord) -> bool:
    """Drop Flask-Limiter's line for a refusal: its key holds the typed address.

    Its refusals are its only lines below WARNING that carry arguments (the
    limit, the key, the scope); the others, such as the storage's recovery, are
    plain text and pass. tests/test_logging.py fails if a refusal's line changes.
    The request's own line says 429, and the admin area lists who was refused.
    """
    return record.levelno >= logging.WARNING or not record.args


def add_request_id(record: logging.LogRecord) -> bool:
    """Give the record the request's id (security.start_request), else "-"."""
    record.request_id = g.get(REQUEST_ID, "-") if has_app_context() else "-"
    return True
