"""A pseudo-language for tests: every translated text marked, so an unmarked one shows.

Each message of app/translations/messages.pot is "translated" into its own English
with accented letters, between ⟦ and ⟧: "Sign in" becomes "⟦Šíǧñ íñ⟧". Placeholders
(`%(email)s`), HTML tags and entities are kept as they are, so the pages work. A page
or mail written in it shows, outside the markers, only what no catalog should hold:
the member's own data, numbers, and what Babel writes (dates).

The language is served under the code `en_001` ("English (world)"), a locale Babel
knows: the pseudo-locales' own codes (en-XA) are not in its data. It is never offered
to users: only an app built with `pseudo_config` serves it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "app" / "translations" / "messages.pot"
PSEUDO_LANGUAGE = "en_001"
OPEN, CLOSE = "⟦", "⟧"
ACCENTED = str.maketrans(
    "aceginorsuyzACEGINORSUYZ",
    "áçéǧíñóřšúýžÁÇÉǦÍÑÓŘŠÚÝŽ",
)
# What must pass through untouched: placeholders, tags, entities.
KEPT = re.compile(r"%\([a-z_]+\)[sd]|%%|<[^>]*>|&[#a-z0-9]+;")


def pseudo_text(text: str) -> str:
    """Return `text` in the pseudo-language: "⟦Šíǧñ íñ⟧", placeholders kept."""
    parts: list[str] = []
    position = 0
    for kept in KEPT.finditer(text):
        parts.append(text[position : kept.start()].translate(ACCENTED))
        parts.append(kept.group())
        position = kept.end()
    parts.append(text[position:].translate(ACCENTED))
    return OPEN + "".join(parts) + CLOSE


def write_pseudo_catalog(directory: Path) -> Path:
    """Compile the pseudo-language's catalog under `directory`; return `directory`.

    `directory` then holds en_001/LC_MESSAGES/messages.mo, as a directory of
    BABEL_TRANSLATION_DIRECTORIES expects.
    """
    with TEMPLATE.open("rb") as source:
        template = read_po(source)
    catalog = Catalog(locale=PSEUDO_LANGUAGE)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            string: Any = tuple(pseudo_text(form) for form in message.id)
        else:
            string = pseudo_text(message.id)
        catalog.add(message.id, string, context=message.context)
    target = directory / PSEUDO_LANGUAGE / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as compiled:
        write_mo(compiled, catalog)
    return directory


def pseudo_config(directory: Path) -> dict[str, Any]:
    """Settings for an app that serves the pseudo-language besides the real ones.

    `directory` is where write_pseudo_catalog wrote it.
    """
    return {
        "LANGUAGES": ("en", "de", "fr", "es", "ar", PSEUDO_LANGUAGE),
        "BABEL_TRANSLATION_DIRECTORIES": f"translations;{directory}",
    }


INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


def unmarked_text(text: str) -> str:
    """Return what of `text` lies outside the markers (a marked text may hold one)."""
    while True:
        text, found = INNERMOST.subn(" ", text)
        if not found:
            return text


# Elements whose text a reader does not read as the page's words, or that hold
# another language on purpose: code, Babel's dates, marked `translate="no"`.
SKIPPED_ELEMENTS = {"script", "style", "time", "code", "kbd", "samp"}
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}  # fmt: skip
READ_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label")
ADDRESS = re.compile(r"[\w.+-]+@[\w.-]+")
URL = re.compile(r"https?://\S+")
WORD = re.compile(r"[A-Za-z]{2,}")


class VisibleText(HTMLParser):
    """The text of a page a reader sees or hears: text, titles, labels, buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # (tag, skipped)

    def skipping(self) -> bool:
        return any(skipped for _, skipped in self.open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        skipped = (
            tag in SKIPPED_ELEMENTS
            or values.get("translate") == "no"
            # a language's name in itself, in the language menu
            or (tag != "html" and "lang" in values)
        )
        if not self.skipping() and not skipped:
            self.parts.extend(
                str(values[name]) for name in READ_ATTRIBUTES if values.get(name)
            )
            if tag == "input" and values.get("type") in {"submit", "button"}:
                self.parts.append(str(values.get("value") or ""))
        if tag not in VOID_ELEMENTS:
            self.open.append((tag, skipped))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping():
            self.parts.append(data)


def visible_text(html: str) -> str:
    """Return what a reader of the page `html` reads, as one string."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts)


def untranslated(text: str, user_data: tuple[str, ...] = ()) -> list[str]:
    """Return the words of `text` (a page's visible text or a mail) no catalog said.

    What lies between the markers was translated; addresses, URLs, numbers and
    `user_data` (names the test gave its members) are the reader's own data.
    """
    rest = unmarked_text(text)
    for data in user_data:
        rest = rest.replace(data, " ")
    rest = URL.sub(" ", ADDRESS.sub(" ", rest))
    return WORD.findall(rest)
