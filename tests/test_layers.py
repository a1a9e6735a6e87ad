"""Imports go one way between the project's packages, and `bench/` has no cycle.

`ondevice/` imports nothing of ours; `zoo/` imports `ondevice/` only;
`converters/` imports `zoo/` and `ondevice/`; the CLI (`zoo.cli`) and the
benchmark harness (`bench/`) sit on top and may import everything. Every
import counts, module level or inside a function (found with `ast`, without
importing anything).

The same rules, and no cycle inside any package, are also import-linter
contracts (`[tool.importlinter]` in pyproject.toml); `test_import_contracts`
runs `lint-imports` on them.
"""

import ast
import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("ondevice", "zoo", "converters", "bench")

# Package -> the project's packages its modules may import (besides itself).
ALLOWED = {
    "ondevice": set(),
    "zoo": {"ondevice"},
    "converters": {"zoo", "ondevice"},
    "bench": {"zoo", "ondevice", "converters"},
}
# Modules on top of everything, wherever they live.
TOP = {"zoo.cli"}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    """Module name -> path of every module of the project's packages."""
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _modules()


def _resolve(name):
    """The most specific module of ours that `name` (dotted) names, or None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def imports_of(module):
    """`{(imported module, line)}` for every import of one of our modules in `module`."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package upwards
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            # `from pkg import mod` imports the module `pkg.mod` where it is one.
            names = [f"{prefix}.{alias.name}" for alias in node.names] or [prefix]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Attribute, ast.Name))
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add((target, node.lineno))
    return found


def _package(module):
    return module.split(".")[0]


def test_every_package_has_modules():
    for pkg in PACKAGES:
        assert pkg in MODULES, f"{pkg}/__init__.py is missing"


@pytest.mark.parametrize("package", PACKAGES)
def test_layering(package):
    violations = []
    for module in sorted(m for m in MODULES if _package(m) == package and m not in TOP):
        for target, line in sorted(imports_of(module)):
            other = _package(target)
            if other != package and other not in ALLOWED[package]:
                violations.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} imports {target}")
    allowed = ", ".join(sorted(ALLOWED[package])) or "nothing of ours"
    assert not violations, f"{package}/ may import {allowed} only:\n" + "\n".join(violations)


def _cycle(graph):
    """One cycle of `graph` (node -> successors) as a list of nodes, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_bench_module_graph_is_acyclic():
    graph = {
        m: {t for t, _ in imports_of(m) if _package(t) == "bench" and t != "bench"}
        for m in MODULES
        if _package(m) == "bench"
    }
    cycle = _cycle(graph)
    assert cycle is None, "import cycle in bench/: " + " -> ".join(cycle)


def _lint_imports_command():
    """`lint-imports` of the running interpreter's environment (the venv's, next to `python`)."""
    script = pathlib.Path(sys.executable).with_name("lint-imports")
    if script.exists():
        return [str(script)]
    # Installed, but its console script is not next to the interpreter: run the same entry point.
    return [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]


def test_import_contracts():
    """`lint-imports` keeps every contract of pyproject.toml's `[tool.importlinter]`."""
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (it is in the `dev` extra: pip install -e '.[dev]')")
    # --no-cache: write nothing into the tree.
    proc = subprocess.run(
        _lint_imports_command() + ["--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"lint-imports failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
