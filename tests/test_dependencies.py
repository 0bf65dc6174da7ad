"""Dependencies declared in pyproject.toml are the ones the package imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.conftest import REPO

# Declared though the package does not import them itself: the U-Net's torch (issue 8),
# navis-fastcore, which navis imports to speed up skeleton work; psycopg, the PostgreSQL
# driver SQLAlchemy loads for a postgresql+psycopg:// SYNANNO_DATABASE_URL; multiprocess, which
# Dash's DiskcacheManager imports to run background jobs.
DECLARED_FOR_LATER_OR_INDIRECT = {"torch", "navis-fastcore", "psycopg", "multiprocess"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_distributions() -> set[str]:
    owners = packages_distributions()
    names: set[str] = set()
    for path in [*REPO.joinpath("synanno_dash").rglob("*.py"), *REPO.joinpath("pages").glob("*.py"),
                 REPO / "app.py"]:  # fmt: skip
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    third_party = names - set(sys.stdlib_module_names) - {"synanno_dash"}
    return {_normalise(owners[name][0]) for name in third_party}


def test_declared_dependencies_are_imported_and_imported_ones_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_normalise(re.split(r"[<>=\[;]", d)[0]) for d in project["dependencies"]}
    imported = _imported_distributions()
    assert imported - declared == set(), "imported but not declared"
    assert declared - imported - DECLARED_FOR_LATER_OR_INDIRECT == set(), "declared, never imported"
