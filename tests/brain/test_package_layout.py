"""``brain/`` stays layered: no module imports itself back through others, and no subpackage does either.

A cycle makes import order matter (a module half-initialised when the other asks for its names)
and ties parts together that were split to be understood alone. Imports inside functions count
too: they only defer the cycle, they do not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "brain"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """The ``brain`` modules a file imports anywhere in it (``from brain.x import y`` names module ``brain.x.y``
    when that is a module, else ``brain.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: a relative import; write it absolute"
            found |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                      for alias in node.names}
    return {name for name in found if name in MODULES}


def part(module: str) -> str:
    """The part of ``brain`` a module belongs to: its subpackage (``brain.training``); a top-level module
    (``brain.errors``) and ``brain`` itself are parts of their own."""
    return ".".join(module.split(".")[:2])


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    graph.add_edges_from((module, imported) for module, path in MODULES.items()
                         for imported in imported_modules(path) if imported != module)
    return graph


def cycles(graph: nx.DiGraph) -> list[str]:
    """Each cycle of ``graph`` written ``a -> b -> a``."""
    return [" -> ".join([*cycle, cycle[0]]) for cycle in nx.simple_cycles(graph)]


def test_the_subpackages_are_the_ones_pyproject_installs():
    import tomllib

    installed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert packages <= set(installed), f"add {sorted(packages - set(installed))} to [tool.setuptools] packages"


def test_the_graph_sees_function_level_imports():
    """The graph would miss the cycles that hide in functions if it read module-level imports only."""
    assert "brain.training.ray_backend" in import_graph().successors("brain.training.trainer")


def test_no_module_imports_itself_back():
    found = cycles(import_graph())
    assert not found, "import cycles between modules:\n" + "\n".join(found)


def test_no_subpackage_imports_itself_back():
    parts = nx.DiGraph()
    parts.add_edges_from((part(a), part(b)) for a, b in import_graph().edges if part(a) != part(b))
    found = cycles(parts)
    assert not found, "import cycles between the parts of brain/:\n" + "\n".join(found)

