"""The package's layers: imports flow one way, and no import (even inside a function) closes a cycle.

The order is the one README.md's "Architecture" section draws. A module may
import from its own layer and the layers below it, never from a layer above;
and the graph of module imports, counting those made inside functions, has no
cycle, so no function-level import can hide one.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symgrad"

#: lowest first; a module's layer is the longest of these names that prefixes its dotted path below
#: symgrad (the op table sits below the printers, which name ops by it; models sit above both)
LAYERS = [
    # _optional imports matplotlib and tqdm on first use (importlib, not an import statement): the lowest
    # layer, as it imports nothing of symgrad; so `import symgrad` never pays for them
    {"errors", "_tools", "_version", "_optional"},
    {"core.ops", "core.functions", "core.shapes"},
    {"printing"},
    {"core", "extend"},
    {"losses", "networks", "layers", "parsing"},
    {"symbolic"},
    {"graph", "numeric"},
    {"compiler"},
    {"verification", "check", "training"},
    # a teacher's document read as text: its math blocks and annotations (above checking, below the lectures)
    {"documents"},
    {"lectures"},
    {"matrix", "cli", "__init__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in RANK:
            return ".".join(parts[:n])
    return parts[0] if parts else "__init__"


def imports_of(path: Path) -> set[str]:
    """The symgrad modules a file imports anywhere in it (resolved; names imported from a package
    that are modules count as those modules)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text(), str(path))
    # imports made only for type checkers never run, so they close no cycle
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("symgrad"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or \
                    (PACKAGE.parent / candidate.replace(".", "/") / "__init__.py").exists()
                found.add(candidate if is_module else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("symgrad")}
    found.discard(module)
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def test_every_module_belongs_to_a_layer():
    unknown = sorted({layer_of(m) for m in MODULES} - set(RANK))
    assert not unknown, f"add these to LAYERS (and to README's architecture section): {unknown}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_down(module):
    upward = sorted(t for t in GRAPH[module] if RANK[layer_of(t)] > RANK[layer_of(module)])
    assert not upward, f"{module} (layer {layer_of(module)}) imports from a higher layer: {upward}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module import graph."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = iter(range(10**6))

    def visit(v):
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
