"""The app uses its libraries through their public names only.

A name that starts with one underscore is a library's own business: it changes or
goes away in any release, without a word in the changelog. The rule this file
checks in every module of app/, read as code (ast), not run:

1. No `from <library> import _name` and no import of a module whose path has a
   part starting with an underscore (`flask_limiter._extension`).
2. No `._name` read off a name bound to a library's object, or off a chain of
   attributes that starts at one (`limiter.limiter.storage._x`). A name is bound
   to a library's object when it is imported from a library (`from flask import
   current_app`, `import wtforms`), imported from `app.extensions` (the
   extension objects: `db`, `limiter`, `csrf`, `login_manager`), or is a
   parameter whose annotation names something imported from a library
   (`field: wtforms.Field`).

The libraries: Flask, Flask-Limiter (and its `limits`), Flask-WTF, WTForms,
SQLAlchemy and Flask-SQLAlchemy. Dunder names (`__name__`) are Python's, not a
library's, and are allowed. The rule does not follow values through assignments;
it is a net for the usual ways in, not a proof.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
LIBRARIES = frozenset(
    {"flask", "flask_limiter", "limits", "flask_wtf", "wtforms", "sqlalchemy"}
    | {"flask_sqlalchemy"}
)
EXTENSIONS_MODULE = "app.extensions"


def private(name: str) -> bool:
    """Whether `name` is a library's own: one leading underscore, not a dunder."""
    return name.startswith("_") and not name.startswith("__")


def of_a_library(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in LIBRARIES


def root_name(node: ast.expr) -> str | None:
    """The name a chain of attributes starts at: `limiter` for `limiter.a.b`."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def private_uses(source: str) -> list[tuple[int, str]]:
    """Return (line, what) for each use of a library's private name in `source`."""
    tree = ast.parse(source)
    bound: set[str] = set()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if of_a_library(alias.name):
                    bound.add(alias.asname or alias.name.split(".")[0])
                    if any(private(part) for part in alias.name.split(".")):
                        found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            library = of_a_library(node.module)
            if library or node.module == EXTENSIONS_MODULE:
                for alias in node.names:
                    bound.add(alias.asname or alias.name)
            if library:
                parts = (node.module or "").split(".")
                names = [alias.name for alias in node.names]
                if any(private(part) for part in parts + names):
                    found.append((node.lineno, f"from {node.module} import {names}"))
    # Parameters annotated with a library's type are its objects too.
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotation = {
                sub.id for sub in ast.walk(node.annotation) if isinstance(sub, ast.Name)
            }
            if annotation & bound:
                bound.add(node.arg)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = root_name(node.value)
            if root in bound:
                found.append((node.lineno, f"{ast.unparse(node)}"))
    return sorted(found)


def test_no_module_of_the_app_uses_a_private_name_of_its_libraries() -> None:
    found = [
        f"{path.relative_to(APP.parent)}:{line}: {what}"
        for path in sorted(APP.rglob("*.py"))
        for line, what in private_uses(path.read_text(encoding="utf-8"))
    ]

    assert found == []


def test_the_check_finds_each_way_a_private_name_comes_in() -> None:
    # What this file's rule flags, and what it leaves alone.
    source = """
from flask_limiter._extension import RequestLimit
from wtforms.widgets import _html_params
from app.extensions import limiter
import wtforms
from wtforms import Field

def render(field: Field, other: wtforms.Field, mine: object) -> None:
    field._value()
    other.data._thing
    limiter._key_prefix
    limiter.limiter.storage._inner
    mine._own
    field.__class__
"""
    assert [what for _, what in private_uses(source)] == [
        "from flask_limiter._extension import ['RequestLimit']",
        "from wtforms.widgets import ['_html_params']",
        "field._value",
        "other.data._thing",
        "limiter._key_prefix",
        "limiter.limiter.storage._inner",
    ]
