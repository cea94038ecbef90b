"""Template helpers: `url_for` that remembers the links every page repeats.

Each page links the stylesheet, the icon and the navigation: seven to nine
`url_for` calls whose answers never change for a given script root. Building them
cost a tenth of a small page, so templates get a `url_for` that keeps those
answers; links with arguments are built as before.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for

CACHEABLE_ARGUMENTS: tuple[frozenset[str], ...] = (frozenset(), frozenset({"filename"}))


def url_for_page(endpoint: str, **values: Any) -> str:
    """Return url_for(endpoint, **values), from a cache when it cannot vary."""
    cacheable = (
        has_request_context()
        and not endpoint.startswith(".")
        and frozenset(values) in CACHEABLE_ARGUMENTS
    )
    if not cacheable:
        return url_for(endpoint, **values)
    cache: dict[tuple[str, str, str], str] = current_app.extensions["vestibule_urls"]
    key = (request.script_root, endpoint, str(values.get("filename", "")))
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for(endpoint, **values)
    return url


def register_templating(app: Flask) -> None:
    """Give templates the caching url_for."""
    app.extensions["vestibule_urls"] = {}
    app.jinja_env.globals["url_for"] = url_for_page
