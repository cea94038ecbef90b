"""Screenshots of the key pages, for a person to look over after a run.

They land in tests/e2e/artifacts/ (git-ignored); CI can keep them as artifacts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, Member, OpenTab
from tests.e2e.tour import tour

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # a PNG image, and not an empty file
SCREENS = {"desktop": DESKTOP, "phone": PHONE}


def test_screenshots_of_key_pages_are_saved(
    open_tab: OpenTab, make_member: Callable[..., Member]
) -> None:
    page = open_tab().page
    viewer = make_member(name="Grace Hopper", bio="Found a moth in the relay.")
    other = make_member(name="Ada Lovelace", bio="Wrote the first program.")
    ARTIFACTS.mkdir(exist_ok=True)

    saved = []
    for stop in tour(page, viewer, other):
        for screen, size in SCREENS.items():
            page.set_viewport_size(size)
            path = ARTIFACTS / f"{stop.name}-{screen}.png"
            path.unlink(missing_ok=True)  # only this run's picture may pass
            page.screenshot(path=path, full_page=True)
            saved.append(path)
        page.set_viewport_size(DESKTOP)

    missing = [path.name for path in saved if not path.is_file()]
    assert missing == []
    not_png = [p.name for p in saved if p.read_bytes()[:8] != PNG_SIGNATURE]
    assert not_png == []
