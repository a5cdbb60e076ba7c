"""The code keeps the shape docs/architecture.md draws: imports point one way, no circles, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("ops", "accounts", "workspace", "teach", "practice", "lessons", "sandbox", "tutorial")
# docs/architecture.md, "The apps, and what each may import".
MAY_IMPORT = {
    "ops": {"accounts", "workspace", "practice", "lessons", "sandbox"},
    "accounts": {"practice", "lessons"},
    "workspace": {"lessons", "sandbox"},
    "teach": {"practice", "lessons", "sandbox"},
    "practice": {"lessons", "sandbox"},
    "lessons": {"sandbox"},
    "sandbox": set(),
    "tutorial": set(APPS),
}
MAX_LINES = 700


def source_files() -> list[Path]:
    files = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative.parts[:2] == ("lessons", "content"):
                continue
            files.append(path)
    return files


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, tree: ast.Module) -> list[tuple[str, ast.stmt]]:
    """(module, statement) for each project module the file imports, with relative imports resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            # `from . import signals` imports a module; `from .models import X` imports a name.
            found += [(f"{target}.{alias.name}", node) for alias in node.names] + [(target, node)]
    return [(name, node) for name, node in found if name.split(".")[0] in APPS]


def parsed() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), filename=str(path)) for path in source_files()}


def test_apps_import_only_the_apps_below_them():
    wrong = []
    for path, tree in parsed().items():
        app = module_name(path).split(".")[0]
        for name, node in imported_modules(path, tree):
            other = name.split(".")[0]
            if other != app and other not in MAY_IMPORT[app]:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert wrong == []


def test_no_modules_import_each_other_in_a_circle():
    modules = {module_name(path): path for path in source_files()}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for path, tree in parsed().items():
        for name, _ in imported_modules(path, tree):
            if name in modules and name != module_name(path):
                graph[module_name(path)].add(name)
    assert find_cycles(graph) == []


def test_nothing_is_imported_inside_a_function_but_app_loading():
    inside = []
    for path, tree in parsed().items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.name == "apps.py" and function.name == "ready":
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    inside.append(f"{path.relative_to(ROOT)}:{node.lineno} in {function.name}()")
    assert inside == []


@pytest.mark.parametrize("app", ["lessons", "practice", "sandbox", "workspace", "accounts", "teach"])
def test_no_module_is_over_700_lines(app):
    long = [
        f"{path.relative_to(ROOT)} has {count} lines"
        for path in source_files()
        if path.relative_to(ROOT).parts[0] == app and (count := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []


def test_the_code_cites_only_documents_that_are_in_the_repository():
    citing = [
        str(path.relative_to(ROOT)) for path in source_files() + [ROOT / "README.md"] if "DESIGN.md" in path.read_text()
    ]
    assert citing == []


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_a_circle_and_nothing_else():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
