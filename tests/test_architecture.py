"""The house rules of docs/architecture.md, checked on the source: layers, one way of
registering callbacks, services as the only door to resources, ids written once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "synanno_dash"
LAYERS = {"core": 0, "data": 1, "demo": 2, "ml": 3, "services": 4, "ui": 5}


def _sources(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def _module(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Modules imported at run time (``if TYPE_CHECKING:`` blocks left out)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return {name for name in found if name.startswith("synanno_dash")}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_imports_go_one_way_and_never_in_a_cycle() -> None:
    modules = {_module(p): p for p in _sources(PACKAGE)}
    graph = {m: {i for i in _imports(p) if i in modules} for m, p in modules.items()}
    for module, imported in graph.items():
        for target in imported:
            low, high = _layer(target), _layer(module)
            if low is not None and high is not None:
                assert low <= high, f"{module} imports {target}, a layer above it"
    seen: dict[str, int] = {}

    def walk(module: str, path: list[str]) -> None:
        if seen.get(module) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*path, module]))
        if seen.get(module) == 2:
            return
        seen[module] = 1
        for target in graph[module]:
            walk(target, [*path, module])
        seen[module] = 2

    for module in graph:
        walk(module, [])


def test_callbacks_are_registered_one_way() -> None:
    """``register_callbacks(app)`` with ``app.callback``; never ``dash.callback``."""
    for path in _sources(PACKAGE, REPO / "pages"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "dash":
                names = {alias.name for alias in node.names}
                assert not names & {"callback", "clientside_callback"}, path
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                assert name not in ("dash.callback", "dash.clientside_callback"), path


def test_views_reach_resources_only_through_services() -> None:
    allowed = {PACKAGE / "ui" / "app.py", PACKAGE / "ui" / "session.py"}  # they build them
    for path in _sources(PACKAGE / "ui", REPO / "pages"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("store", "volumes", "viewers", "resources", "tables"), (
                    f"{path}:{node.lineno} uses .{node.attr}: call a service instead"
                )
        assert "app_context" not in path.read_text(), f"{path}: use current_session()"


def test_ctx_is_only_dash_ctx() -> None:
    for path in _sources(PACKAGE, REPO / "pages"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.arg):
                assert node.arg != "ctx", f"{path}:{node.lineno}: a parameter named ctx"
            if isinstance(node, ast.Name) and node.id == "ctx" and isinstance(node.ctx, ast.Store):
                raise AssertionError(f"{path}:{node.lineno}: a variable named ctx")


def test_scripts_read_component_ids_from_python() -> None:
    from synanno_dash.ui import ids

    values = {v for v in vars(ids).values() if isinstance(v, str) and "-" in v}
    for script in (REPO / "assets").glob("*.js"):
        quoted = set(re.findall(r"""["']([a-z0-9-]+)["']""", script.read_text()))
        assert not quoted & values, f"{script.name} types component ids {quoted & values}"
