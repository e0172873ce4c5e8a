"""The layering of qa/ (docs/architecture.md): a module imports only from its own layer or the
layers below it, and no modules import each other in a circle. Read from the source with ast,
so lazy imports inside functions count too; imports under `if TYPE_CHECKING:` do not (they
never run)."""

from __future__ import annotations

import ast
from pathlib import Path

from qa.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "qa"

# Lowest first. A module belongs to the longest prefix listed.
LAYERS: list[tuple[str, ...]] = [
    # foundations: no qa imports but these; weights is the preset table settings checks names in
    ("qa.errors", "qa.text", "qa.language", "qa.offline", "qa.prompts", "qa.models.weights"),
    ("qa.settings",),
    ("qa.backend_errors", "qa.models", "qa.documents", "qa.stores"),
    ("qa.ingest", "qa.uploads", "qa.answering", "qa.feedback"),
    ("qa.api", "qa"),  # the public API: `import qa`
    ("qa.evaluation", "qa.ui", "qa.server", "qa.feedback.cli"),  # the doors, over the public API
    ("qa.cli",),
]
# Upward imports with a reason. qa.evaluate() is a convenience of the public API that loads the
# evaluation harness only when called, so `import qa` never pays for it.
ALLOWED_UP = {("qa.api", "qa.evaluation")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> int:
    best, found = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), i
    assert found >= 0, f"{module} is in no layer: add it to LAYERS"
    return found


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def imports(path: Path, lazy: bool = True) -> set[str]:
    """The qa modules a file imports (`from qa import x` is qa.x when x is a module); with
    lazy=False only those imported when the module loads (not inside functions)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if not lazy and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(child, ast.If) and _type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                for a in child.names:
                    sub = f"{child.module}.{a.name}"
                    as_module = PACKAGE.parent / Path(*sub.split("."))
                    is_module = as_module.with_suffix(".py").is_file() or as_module.is_dir()
                    found.add(sub if is_module else child.module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m == "qa" or m.startswith("qa.")}


def graph(lazy: bool = True) -> dict[str, set[str]]:
    files = [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]
    return {module_name(p): imports(p, lazy) - {module_name(p)} for p in files}


def test_every_module_imports_only_its_own_layer_or_below():
    upward = [
        f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
        for m, targets in graph().items()
        for t in targets
        if layer(t) > layer(m) and (m, t) not in ALLOWED_UP
    ]
    assert not upward, "\n".join(sorted(upward))


def cycles(edges: dict[str, set[str]]) -> list[str]:
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[str] = []

    def walk(m: str, path: list[str]) -> None:
        seen[m] = 1
        for t in sorted(edges.get(m, ())):
            if seen.get(t) == 1:
                found.append(" -> ".join(path[path.index(t) :] + [t]))
            elif t not in seen:
                walk(t, path + [t])
        seen[m] = 2

    for m in sorted(edges):
        if m not in seen:
            walk(m, [m])
    return found


def test_no_import_cycles():
    """Between modules as they load (an import inside a function runs later, once both
    modules exist, so it cannot break the start-up)."""
    found = cycles(graph(lazy=False))
    assert not found, "\n".join(found)


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from qa.api import ask\nif TYPE_CHECKING:\n    from qa.cli import main\n")
    assert imports(bad) == {"qa.api"}
    assert layer("qa.api") > layer("qa.stores.local") and layer("qa.cli") == len(LAYERS) - 1


def test_the_checker_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_is_over_about_350_lines():
    # past this a module holds more than one idea (issue 11); split it by concern
    long = {
        module_name(p): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 360
    }
    assert not long, long
