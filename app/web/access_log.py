"""Gunicorn's access log without secrets: mailed links' tokens and cookies left out.

The links the site mails carry a token in their path (/auth/verify/<token> and
the like), and a browser names the page it came from in its Referer: gunicorn's
access log would write each token down. `gunicorn.conf.py` sets `logger_class` to
`RedactingLogger`, which replaces each token with REDACTED in every value the log
format may use, and cookies with "-".
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# The pages whose last path segment is a token (the views of app/auth/);
# tests/test_logging.py fails for a `<token>` route missing here.
TOKEN_PAGES = ("verify", "reset", "unlock", "not-me", "email-change", "email-undo")
_TOKEN_IN_PATH = re.compile(
    r"(/auth/(?:" + "|".join(map(re.escape, TOKEN_PAGES)) + r')/)[^/?#\s"]+'
)
# Atoms (gunicorn's names) that hold cookies, which sign people in.
_COOKIE_ATOMS = frozenset({"{cookie}i", "{set-cookie}o", "{http_cookie}e"})


def redact(text: str) -> str:
    """Return `text` with the token of every token-carrying path replaced."""
    return _TOKEN_IN_PATH.sub(r"\1" + REDACTED, text)


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn has no types
    """Gunicorn's logger, with the access log's values redacted."""

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name in _COOKIE_ATOMS:
                atoms[name] = "-"
            elif isinstance(value, str):
                atoms[name] = redact(value)
        return atoms
