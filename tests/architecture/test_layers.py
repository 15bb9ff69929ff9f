"""The import picture reads one way down: ingest -> store -> features -> models ->
serving / reports, with no circle between modules (imports inside functions count too)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "shopmind"

#: Lowest first. A package may import its own modules and packages of lower layers only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "jsonable", "numbers"),
    ("privacy", "security"),
    ("config",),
    ("store",),
    ("ingest", "features"),
    ("analytics",),
    ("evaluation",),
    ("models",),
    ("marketing", "risk", "assistant", "simulate"),
    ("testing",),
    ("reports", "serving"),
    ("cli",),
)
EXEMPT = {"__init__", "__main__"}


def _layer_of(package: str) -> int:
    for index, names in enumerate(LAYERS):
        if package in names:
            return index
    raise AssertionError(
        f"package shopmind.{package} has no layer: add it to LAYERS in {Path(__file__).name}"
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Module -> shopmind modules it imports (anywhere in the file)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name.rsplit(".", 1)[0] if path.name == "__init__.py" else name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:  # annotations only: no runtime dependency
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - (path.name == "__init__.py"))[0]
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("shopmind.") and target != name:
                    graph[name].add(target)
    return graph


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_no_import_from_a_higher_layer() -> None:
    wrong = []
    for source, targets in _imports().items():
        if source.count(".") == 0 or _top(source) in EXEMPT:
            continue
        for target in targets:
            if _top(target) in EXEMPT or _top(target) == _top(source):
                continue
            if _layer_of(_top(target)) >= _layer_of(_top(source)):
                wrong.append(f"{source} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules() -> None:
    graph = _imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            # a package __init__ re-exporting its own modules is not a circle of ideas
            real = [m for m in component if not any(o.startswith(m + ".") for o in component)]
            if len(real) > 1:
                cycles.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
