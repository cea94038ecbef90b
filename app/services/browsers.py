"""Readable names for the browsers behind User-Agent strings, for the member to read."""

from __future__ import annotations

import functools

UNKNOWN = "Unknown browser"


@functools.lru_cache(maxsize=512)
def describe_browser(user_agent: str, *, version: bool = True) -> str:
    """Return a browser and its system in words: "Chrome 131 on Linux", "curl 8".

    Without `version`, "Chrome on Linux": the same browser after an update. Parsed
    by ua-parser; an empty or unrecognised string gives "Unknown browser".
    """
    # Imported here: its rules are compiled on first use, by the pages that show them.
    from ua_parser import parse

    result = parse(user_agent)
    agent = result.user_agent
    if agent is None or agent.family == "Other":
        return UNKNOWN
    browser = (
        f"{agent.family} {agent.major}" if agent.major and version else agent.family
    )
    system = result.os
    if system is None or system.family == "Other":
        return browser
    return f"{browser} on {system.family}"
