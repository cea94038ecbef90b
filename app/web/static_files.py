"""Static files cached for a year: each URL carries a short hash of the file's content.

`url_for("static", filename="style.css")` gives `/static/style.css?v=<hash>`, so a
changed file has a new URL and a browser may keep each version for good. A request
with the file's current version gets `Cache-Control: public, max-age=31536000,
immutable`; one without it, or with an old one, gets Flask's usual answer, which
the browser checks again next time.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

VERSION_ARG = "v"
VERSION_LENGTH = 12  # hex digits of SHA-256: 48 bits
A_YEAR = 31_536_000  # seconds
CACHE_FOR_GOOD = f"public, max-age={A_YEAR}, immutable"
VERSIONS = "static_versions"  # app.extensions key: {filename: (stamp, version)}

Stamp = tuple[int, int] | None  # a file's (modification time in ns, size in bytes)


def version_of(app: Flask, filename: str) -> str | None:
    """Return the short content hash of a static file, or None when there is none.

    In production each file is read once, for the app's life: a deploy (a
    restart) picks up changed files. Elsewhere a file whose time or size changed
    is read again, so an edited stylesheet gets its new URL at the next page.
    `filename` is relative to the static folder; a name outside it or of no file
    gives None.
    """
    versions: dict[str, tuple[Stamp, str | None]] = app.extensions.setdefault(
        VERSIONS, {}
    )
    known = versions.get(filename)
    if known is not None and app.config["APP_ENV"] == "production":
        return known[1]
    path = safe_join(app.static_folder, filename) if app.static_folder else None
    stamp = _stamp(path)
    if known is None or known[0] != stamp:
        known = versions[filename] = (stamp, _hash_file(path) if stamp else None)
    return known[1]


def _stamp(path: str | None) -> Stamp:
    if path is None or not os.path.isfile(path):
        return None
    found = os.stat(path)
    return found.st_mtime_ns, found.st_size


def _hash_file(path: str | None) -> str | None:
    if path is None:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()[:VERSION_LENGTH]


def add_version(endpoint: str, values: dict[str, Any]) -> None:
    """`url_defaults` hook: give a static file's URL its version (`?v=<hash>`)."""
    if endpoint != "static" or VERSION_ARG in values:
        return
    filename = values.get("filename")
    if isinstance(filename, str):
        version = version_of(current_app, filename)
        if version is not None:
            values[VERSION_ARG] = version


def cache_current_version(response: Response) -> Response:
    """`after_request` hook: let a browser keep a static file of the current version.

    Replaces the `no-store` that signed-in pages get (security.set_security_headers):
    a static file holds nothing personal.
    """
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename")
    version = request.args.get(VERSION_ARG)
    if (
        version
        and isinstance(filename, str)
        and version == version_of(current_app, filename)
    ):
        response.headers["Cache-Control"] = CACHE_FOR_GOOD
    return response


def register_static_files(app: Flask) -> None:
    """Install both hooks. Call before `security.register_security`: after_request
    functions run last-registered first, so this one runs after the headers it
    corrects."""
    app.url_defaults(add_version)
    app.after_request(cache_current_version)
