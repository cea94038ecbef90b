"""The catalogs say everything the code marks, in every language, with its placeholders.

app/translations/messages.pot is what `make translations` extracts from the code; each
language the site serves has a catalog of it that translates every message, none
fuzzy, with the source's placeholders and every plural form its language has.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from app.config import Config
from tests.pseudo import ROOT, TEMPLATE

TRANSLATIONS = ROOT / "app" / "translations"
TRANSLATED = [code for code in Config.LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


def ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, list | tuple) else (message.id,)


def strings(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, list | tuple):
        return tuple(message.string)
    return (message.string,)


def test_the_template_holds_every_text_the_code_marks(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    keywords = ["-k", "lazy_gettext", "-k", "_l"]  # as `make translations`
    output = ["-o", str(fresh), str(ROOT / "app")]
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), *keywords, *output]
    )
    marked = {ids(m) for m in read_catalog(fresh) if m.id}
    kept = {ids(m) for m in read_catalog(TEMPLATE) if m.id}
    assert marked - kept == set(), "run `make translations`: texts not in the catalogs"
    assert kept - marked == set(), "run `make translations`: texts no longer marked"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(code: str) -> None:
    template = read_catalog(TEMPLATE)
    catalog = read_catalog(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po")
    forms = Catalog(locale=code).num_plurals
    problems = []
    for source in template:
        if not source.id:
            continue
        message = catalog.get(source.id, context=source.context)
        if message is None or not all(strings(message)):
            problems.append(f"not translated: {source.id!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {source.id!r}")
        wanted = set().union(*(PLACEHOLDER.findall(text) for text in ids(source)))
        for text in strings(message):
            found = set(PLACEHOLDER.findall(text))
            # A plural form may leave the number out ("ein Mitglied"), nothing else.
            missing = wanted - found - ({"num"} if source.pluralizable else set())
            if found - wanted or missing:
                problems.append(f"placeholders {sorted(found)}: {source.id!r}")
        if source.pluralizable and len(strings(message)) != forms:
            problems.append(f"plural forms {len(strings(message))}: {source.id!r}")
    assert problems == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_catalog_says_its_own_plural_rule(code: str) -> None:
    catalog = read_catalog(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po")
    assert catalog.num_plurals == Catalog(locale=code).num_plurals
    assert catalog.plural_expr == Catalog(locale=code).plural_expr


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_catalog_compiles_as_make_run_compiles_it(code: str) -> None:
    # pybabel compile refuses what Babel's checks find (a placeholder written %(num)d
    # where the source says %(num)s), and make run and make test stop on it.
    catalog = read_catalog(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po")

    errors = [
        f"{message.lineno}: {error}"
        for message, message_errors in catalog.check()
        for error in message_errors
    ]

    assert errors == []
