"""The README is a map, and the pages it leads to say what the code does.

docs/configuration.md must list every setting app/config.py holds, by the name an
operator gives it by (the rule at the top of that page); every link of the README and
of docs/ must lead to a file of the repository (and a heading of it, when it names one).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from app import config, environment

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIG_CLASSES = (
    config.Config,
    config.DevelopmentConfig,
    config.TestingConfig,
    config.ProductionConfig,
)
# app/__init__.py reads APP_ENV itself, to choose one of the classes above.
READ_BY_THEIR_OWN_NAME = frozenset({"APP_ENV"})
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documented_names(page: Path) -> set[str]:
    """Return the `names` in the first cell of every table row of `page`."""
    names: set[str] = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([^`]+)`", first_cell))
    return names


def operator_name(key: str) -> str:
    """Return the name docs/configuration.md gives a setting by (its rule, in order)."""
    for variable, (setting, _parse) in environment.ENVIRONMENT_VARIABLES.items():
        if setting == key:
            return variable
    if key in READ_BY_THEIR_OWN_NAME:
        return key
    defaults = [vars(cls)[key] for cls in CONFIG_CLASSES if key in vars(cls)]
    if isinstance(defaults[0], timedelta):
        return key
    return f"FLASK_{key}"


def settings() -> set[str]:
    return {key for cls in CONFIG_CLASSES for key in vars(cls) if key.isupper()}


def heading_anchors(page: Path) -> set[str]:
    """Return the anchors of a Markdown page's headings, as GitHub makes them."""
    anchors = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return anchors


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def test_every_setting_the_code_holds_has_a_row_in_the_configuration_page() -> None:
    rows = documented_names(DOCS / "configuration.md")

    names = [operator_name(key) for key in sorted(settings())]

    missing = [name for name in names if name not in rows]

    assert len(settings()) > 50  # the classes were read
    assert missing == [], f"add a row to docs/configuration.md for {missing}"


def test_every_environment_variable_the_app_reads_has_a_row() -> None:
    rows = documented_names(DOCS / "configuration.md")

    missing = [name for name in environment.ENVIRONMENT_VARIABLES if name not in rows]

    assert missing == []


def test_a_duration_is_listed_by_its_bare_name_since_no_variable_gives_one() -> None:
    rows = documented_names(DOCS / "configuration.md")

    assert "SESSION_LIFETIME" in rows
    assert "FLASK_SESSION_LIFETIME" not in rows


def test_the_readme_is_a_map_of_at_most_150_lines_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert len(readme.splitlines()) <= 150
    assert "make run" in readme
    assert "make test" in readme
    assert "PORT=8123 make run" in readme
    assert "BASE_URL" in readme


def test_the_readme_leads_to_every_page_of_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {target.split("#")[0] for target in LINK.findall(readme)}

    pages = [f"docs/{page.name}" for page in DOCS.glob("*.md")]

    unreached = [page for page in pages if page not in linked]

    assert unreached == []


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda page: page.name)
def test_every_link_leads_to_a_file_and_heading_of_the_repository(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if "://" in target or target.startswith("/") or not linked.is_relative_to(ROOT):
            broken.append(f"{target} leaves the repository")
        elif not linked.exists():
            broken.append(f"{target} names no file")
        elif anchor and anchor not in heading_anchors(linked):
            broken.append(f"{target} names no heading of {linked.name}")

    assert broken == []


def test_the_grafana_dashboard_asks_only_for_metrics_the_app_exposes() -> None:
    source = (ROOT / "app" / "metrics.py").read_text(encoding="utf-8")
    exposed = set(re.findall(r'"(vestibule_\w+)"', source))
    dashboard_file = DOCS / "grafana" / "vestibule.json"
    dashboard = json.loads(dashboard_file.read_text(encoding="utf-8"))
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]

    asked = {
        re.sub(r"_(total|bucket|sum|count)$", "", name)
        for query in queries
        for name in re.findall(r"vestibule_\w+", query)
    }

    assert asked
    assert asked <= exposed, asked - exposed
