"""The package layout holds its promises: no import cycles, Flask only in web/, the Flask app module
imported only by the entry points, and folders small enough to scan."""
from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "capcut_drafts"
MAX_MODULES_PER_FOLDER = 16


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path) -> set[str]:
    """Package modules `path` imports anywhere (functions included), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("capcut_drafts")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {dep for dep in imports_of(path) if dep in modules and dep != name and
                   not name.startswith(dep + ".")}      # a module's own package __init__ is not a cycle
            for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_the_import_graph_has_no_cycles():
    assert find_cycle(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_flask_is_imported_only_in_web():
    users = {module_name(path) for path in PACKAGE.rglob("*.py")
             if any(line.split()[1].split(".")[0] == "flask" for line in path.read_text().splitlines()
                    if line.lstrip().startswith(("import flask", "from flask")))}
    assert users and all(name.startswith("capcut_drafts.web.") for name in users), users


def test_only_entry_points_import_the_flask_app_module():
    """app.py serves it; tests and benchmarks build apps; no module of the package imports it."""
    importers = {path.relative_to(REPO_ROOT) for path in REPO_ROOT.rglob("*.py")
                 if ".venv" not in path.parts and "capcut_drafts.web.app" in imports_of(path)}
    assert Path("app.py") in importers
    assert all(p == Path("app.py") or p.parts[0] in ("tests", "bench") for p in importers), importers


def test_no_folder_is_a_bag():
    for folder in [PACKAGE, *[p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"]]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES_PER_FOLDER, (folder, len(modules))
