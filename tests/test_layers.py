"""The house's layers: every import of the app runs down, never up, and never around.

The layers, lowest first (README.md, "The layers"): settings; models; the database
and the extension objects; dates and metrics; the rules (services); what every
blueprint shares (web); the blueprints and the CLI; the factory.
A module may import its own layer or a lower one, at the top of the module: an import
inside a function that breaks a cycle hides an arrow running back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# The layer of each module, by the longest prefix of its dotted name.
LAYERS = {
    "app.config": 0,
    "app.environment": 0,
    "app.log": 0,
    "app.extensions": 2,
    "app.database": 2,
    "app.models": 1,
    "app.dates": 3,
    "app.metrics": 3,
    "app.metrics_endpoint": 3,
    "app.services": 4,
    "app.web": 5,
    "app.auth": 6,
    "app.account": 6,
    "app.admin": 6,
    "app.main": 6,
    "app.users": 6,
    "app.cli": 6,
    "app": 7,
}
BLUEPRINTS = ("app.auth", "app.account", "app.admin", "app.main", "app.users")


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def layer_of(module: str) -> int:
    prefix = module
    while prefix not in LAYERS:
        prefix = prefix.rpartition(".")[0]
    return LAYERS[prefix]


def owner(module: str) -> str:
    """The blueprint a module belongs to, or the module itself."""
    return next((bp for bp in BLUEPRINTS if module.startswith(bp)), module)


def imports(tree: ast.Module) -> list[tuple[str, ast.stmt]]:
    """Each app module an import statement names, with the statement."""
    found: list[tuple[str, ast.stmt]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((submodule if submodule in MODULES else node.module, node))
    return [(name, node) for name, node in found if name.split(".")[0] == "app"]


def top_level(tree: ast.Module) -> set[int]:
    """ids of the statements at module level, inside `if TYPE_CHECKING:` included."""
    statements: set[int] = set()
    for node in tree.body:
        statements.add(id(node))
        if isinstance(node, ast.If):
            statements.update(id(child) for child in node.body)
    return statements


TREES = {
    name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_or_lower(module: str) -> None:
    upward = [
        f"{name} (line {node.lineno})"
        for name, node in imports(TREES[module])
        if layer_of(name) > layer_of(module)
    ]
    assert upward == [], f"{module} imports from a higher layer: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_app_module_is_imported_inside_a_function(module: str) -> None:
    tree = TREES[module]
    hidden = [
        f"{name} (line {node.lineno})"
        for name, node in imports(tree)
        if id(node) not in top_level(tree)
    ]
    assert hidden == [], f"{module} imports inside a function: {hidden}"


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith(BLUEPRINTS))
)
def test_a_blueprint_imports_no_other_blueprint(module: str) -> None:
    others = [
        name
        for name, _node in imports(TREES[module])
        if name.startswith(BLUEPRINTS) and owner(name) != owner(module)
    ]
    assert others == [], f"{module} reaches into another blueprint: {others}"


def test_no_import_cycle_among_the_apps_modules() -> None:
    graph = {
        module: {
            name
            for name, node in imports(tree)
            if id(node) in top_level(tree)
            # a package importing its own modules (a blueprint's views) is no cycle
            and not name.startswith(module + ".")
        }
        for module, tree in TREES.items()
    }
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for name in sorted(graph.get(module, ())):
            visit(name, [*path, module])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        visit(module, [])
    assert cycles == []


def test_services_never_touch_the_request() -> None:
    """Rules are free of the request, `g`, flash and templates: a view passes values."""
    web_names = {"request", "g", "session", "flash", "render_template", "redirect"}
    found = [
        f"{module}: {alias.name}"
        for module, tree in TREES.items()
        if module.startswith(("app.services", "app.models"))
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "flask"
        for alias in node.names
        if alias.name in web_names
    ]
    assert found == []
