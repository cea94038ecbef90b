"""Readable names for the browsers behind User-Agent strings, for the member to read."""

from __future__ import annotations

import functools

from flask_babel import gettext as _


@functools.lru_cache(maxsize=512)
def browser_and_system(user_agent: str, *, version: bool = True) -> tuple[str, str]:
    """Return a browser and its system as ua-parser names them: ("Chrome 131", "Linux").

    Without `version`, ("Chrome", "Linux"): the same browser after an update. The
    system is "" when not recognised; both are "" for an empty or unrecognised
    string. Names only, in no language: the same for every reader.
    """
    # Imported here: its rules are compiled on first use, by the pages that show them.
    from ua_parser import parse

    result = parse(user_agent)
    agent = result.user_agent
    if agent is None or agent.family == "Other":
        return "", ""
    browser = (
        f"{agent.family} {agent.major}" if agent.major and version else agent.family
    )
    system = result.os
    if system is None or system.family == "Other":
        return browser, ""
    return browser, system.family


def describe_browser(user_agent: str, *, version: bool = True) -> str:
    """Return a browser and its system in words: "Chrome 131 on Linux", "curl 8".

    Without `version`, "Chrome on Linux": the same browser after an update. Parsed
    by ua-parser; an empty or unrecognised string gives "Unknown browser". In the
    language of the page or mail being written.
    """
    browser, system = browser_and_system(user_agent, version=version)
    if not browser:
        return str(_("Unknown browser"))
    if not system:
        return browser
    return str(_("%(browser)s on %(system)s", browser=browser, system=system))
