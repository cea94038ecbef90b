"""On a 375 px phone screen no page scrolls sideways, whatever names people choose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import PHONE, Member, OpenTab
from tests.e2e.tour import tour

pytestmark = pytest.mark.browser

# The longest name and bio the profile form takes, without a space to wrap at.
LONG_NAME = ("Wolfeschlegelsteinhausenbergerdorff" * 3)[:81]
LONG_BIO = ("https://example.org/" + "supercalifragilisticexpialidocious" * 15)[:501]

# How far the page is wider than the screen, and which elements stick out.
SIDEWAYS = """() => {
  const root = document.documentElement;
  const sticking = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) continue;
    const box = el.getBoundingClientRect();
    const spills = getComputedStyle(el).overflowX === "visible"
      && el.scrollWidth > el.clientWidth + 1;
    if (spills || box.right > root.clientWidth + 0.5) {
      sticking.push(`<${el.tagName.toLowerCase()} class="${el.className}">`);
    }
  }
  return {overflow: root.scrollWidth - root.clientWidth, sticking: sticking.slice(-3)};
}"""


def sideways(page: Page) -> dict[str, Any] | None:
    """Return how the page overflows the screen's width, or None if it fits."""
    found: dict[str, Any] = page.evaluate(SIDEWAYS)
    return found if found["overflow"] > 0 else None


@pytest.fixture
def long_named(make_member: Callable[..., Member]) -> tuple[Member, Member]:
    """Two members whose name and bio are long and have no place to break."""
    return (
        make_member(name=LONG_NAME[:80], bio=LONG_BIO[:500]),
        make_member(name=LONG_NAME[1:81], bio=LONG_BIO[1:501]),
    )


def test_no_page_scrolls_sideways_on_a_phone(
    open_tab: OpenTab, long_named: tuple[Member, Member]
) -> None:
    viewer, other = long_named
    page = open_tab(viewport=PHONE).page

    overflowing = {stop.name: sideways(page) for stop in tour(page, viewer, other)}

    assert {name: how for name, how in overflowing.items() if how} == {}
