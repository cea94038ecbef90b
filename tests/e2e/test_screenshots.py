"""What a person sees first on every key page, on a desktop and on a phone screen.

Each page of the tour, at both screen sizes, in light and in dark mode, must show
exactly one visible main heading, whole in the first screen without scrolling; the
browser tab's title must name the page as its heading does; on the desktop screen
nothing may scroll sideways (test_phone.py checks the phone screen, with the longest
names); and with the system set to dark, the page is dark.

Screenshots of every page at both sizes and in both modes land in
tests/e2e/artifacts/ (git-ignored) as a by-product, for a person to look over after
a run; CI can keep them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.sync_api import Page, ViewportSize

from tests.e2e.a11y import hex_of, relative_luminance
from tests.e2e.conftest import DESKTOP, PHONE, Member, OpenTab
from tests.e2e.tour import SIGNED_OUT, signed_in_stops, tour

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
SCREENS: dict[str, ViewportSize] = {"desktop": DESKTOP, "phone": PHONE}
# The system's colour setting, as Playwright's color_scheme; "" names light ones.
SCHEMES: dict[Literal["light", "dark"], str] = {"light": "", "dark": "-dark"}
TITLE_SUFFIX = " · Vestibule"  # every page's title ends with the site's name

# What a person sees of the page as it is now, scrolled to the top.
FIRST_LOOK = """() => {
  window.scrollTo(0, 0);
  const root = document.documentElement;
  const shown = [...document.querySelectorAll("h1")].filter((h1) => {
    const box = h1.getBoundingClientRect();
    return box.width > 0 && box.height > 0
      && h1.checkVisibility({opacityProperty: true, visibilityProperty: true});
  });
  return {
    title: document.title,
    headings: shown.map((h1) => {
      const box = h1.getBoundingClientRect();
      return {
        text: h1.innerText.trim(),
        inFirstScreen: box.top >= 0 && box.left >= 0
          && box.bottom <= window.innerHeight && box.right <= window.innerWidth,
      };
    }),
    sideways: root.scrollWidth - window.innerWidth,
  };
}"""


# The colour behind everything: the root element's background.
PAGE_BACKGROUND = "getComputedStyle(document.documentElement).backgroundColor"
DARK = 0.1  # a relative luminance below this is a dark page


def what_is_wrong(page: Page, screen: str, scheme: str = "light") -> list[str]:
    """Return what a person would notice is wrong with the page at first sight."""
    look: dict[str, Any] = page.evaluate(FIRST_LOOK)
    problems = []
    background = page.evaluate(PAGE_BACKGROUND)
    if (scheme == "dark") != (relative_luminance(hex_of(background)) < DARK):
        problems.append(f"the page's background {background} is not {scheme}")
    headings = look["headings"]
    if len(headings) != 1:
        texts = [heading["text"] for heading in headings]
        problems.append(f"{len(headings)} visible h1, not exactly one: {texts}")
    for heading in headings:
        if not heading["inFirstScreen"]:
            problems.append(f"h1 {heading['text']!r} is not whole in the first screen")
    title = look["title"]
    named = title.removesuffix(TITLE_SUFFIX)
    if named == title or not named.strip():
        problems.append(f"title {title!r} does not name the page, then the site")
    elif len(headings) == 1 and not headings[0]["text"].startswith(named):
        problems.append(f"title {title!r} names another page than its h1")
    if screen == "desktop" and look["sideways"] > 0:
        problems.append(f"scrolls sideways by {look['sideways']} px")
    return problems


def look_over(page: Page, name: str) -> dict[str, list[str]]:
    """Look at the page as it is at both sizes, in light then dark mode.

    Saves a screenshot of each; returns what is wrong, by "name-screen[-dark]".
    """
    ARTIFACTS.mkdir(exist_ok=True)
    wrong: dict[str, list[str]] = {}
    for scheme, suffix in SCHEMES.items():
        page.emulate_media(color_scheme=scheme)
        for screen, size in SCREENS.items():
            page.set_viewport_size(size)
            where = f"{name}-{screen}{suffix}"
            wrong[where] = what_is_wrong(page, screen, scheme)
            page.screenshot(path=ARTIFACTS / f"{where}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(DESKTOP)
    return wrong


def test_every_page_shows_its_heading_first_on_desktop_and_phone_light_and_dark(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    page = open_tab().page
    viewer = make_member(name="Grace Hopper", bio="Found a moth in the relay.")
    other = make_member(name="Ada Lovelace", bio="Wrote the first program.")

    wrong: dict[str, list[str]] = {}
    for stop in tour(page, viewer, other):
        wrong.update(look_over(page, stop.name))

    assert {where: found for where, found in wrong.items() if found} == {}
    stops = [*SIGNED_OUT, *signed_in_stops(viewer, other)]
    assert list(wrong) == [
        f"{s.name}-{screen}{suffix}"
        for s in stops
        for suffix in SCHEMES.values()
        for screen in SCREENS
    ]
