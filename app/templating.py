"""Template helpers: `url_for` that remembers the links every page repeats.

Each page links the stylesheet, the icon and the navigation: seven to nine
`url_for` calls whose answers never change for a given script root. Templates get
a `url_for` that keeps those answers; links with arguments are built as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, has_request_context, request, url_for

CACHEABLE_ARGUMENTS: tuple[frozenset[str], ...] = (frozenset(), frozenset({"filename"}))


def caching_url_for() -> Callable[..., str]:
    """Return a url_for that reuses the links that cannot vary."""
    cache: dict[tuple[str, str, str], str] = {}

    def url_for_page(endpoint: str, **values: Any) -> str:
        if (
            endpoint.startswith(".")
            or frozenset(values) not in CACHEABLE_ARGUMENTS
            or not has_request_context()
        ):
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, str(values.get("filename", "")))
        url = cache.get(key)
        if url is None:
            url = cache[key] = url_for(endpoint, **values)
        return url

    return url_for_page


def register_templating(app: Flask) -> None:
    """Give the app's templates their helpers."""
    app.jinja_env.globals["url_for"] = caching_url_for()
