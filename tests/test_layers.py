"""The package's layers (docs/architecture.md) form a DAG, and only the core touches the Router.

The import graph is read from the source with ``ast``: every ``import`` and
``from ... import`` anywhere in a module counts, at module level, inside a
function or under ``if TYPE_CHECKING:``. Each module belongs to one layer; a
module may import its own layer and the layers listed before it, never one
after it, and the whole graph must be acyclic. Both checks are also run on
synthetic bad graphs, so a checker that stopped finding problems would fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "router"

#: The layers in order; a module is in the first layer one of whose prefixes it matches.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "vocabulary",
        (
            "router._build",
            "router._dist",
            "router.errors",
            "router.events",
            "router.inputs",
            "router.model",
            "router.stats",
            "router.values",
        ),
    ),
    ("config", ("router.config",)),
    ("state", ("router.state",)),
    ("policies", ("router.policies",)),
    ("core", ("router.core", "router.wellbeing")),
    (
        "drivers",
        (
            "router.adapters",
            "router.sim",
            "router.durable",
            "router.reload",
            "router.metrics",
            "router.observe",
            "router.dashboard",
        ),
    ),
    ("command line", ("router.cli", "router.__main__")),
    ("facade", ("router",)),
]


def layer_of(module: str) -> int:
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if module == p or (p != "router" and module.startswith(p + ".")):
                return i
    raise AssertionError(
        f"module {module} is in no layer: add it to LAYERS in tests/test_layers.py "
        "(and to the layer list in docs/architecture.md)"
    )


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str], me: str | None = None) -> set[str]:
    """Every ``router`` module ``path`` imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = me if me is not None else module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            # ``from router.state import codec`` imports the module router.state.codec
            names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        else:
            continue
        for name in names:
            if name == "router" or name.startswith("router."):
                while name not in known and "." in name:
                    name = name.rpartition(".")[0]
                if name != me:
                    out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(p, known) for m, p in mods.items()}


def layer_problems(g: dict[str, set[str]], layer: dict[str, int]) -> list[str]:
    """Imports of a later layer, and import cycles; one line each."""
    out = []
    names = [n for n, _ in LAYERS]
    for m in sorted(g):
        for dep in sorted(g[m]):
            if layer[dep] > layer[m]:
                out.append(
                    f"{m} ({names[layer[m]]}) imports {dep} ({names[layer[dep]]}), a later layer"
                )
    out.extend(f"import cycle: {' -> '.join(c)}" for c in cycles(g))
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append([*sorted(comp), sorted(comp)[0]])

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer() -> None:
    for m in modules():
        layer_of(m)


def test_layers_form_a_dag() -> None:
    g = graph()
    layer = {m: layer_of(m) for m in g}
    assert layer_problems(g, layer) == []


def test_nothing_in_the_package_imports_the_facade() -> None:
    g = graph()
    assert [m for m, deps in g.items() if "router" in deps and m != "router"] == []


def test_the_checker_finds_an_upward_import_and_a_cycle() -> None:
    layer = {"router.events": 0, "router.config.schema": 1, "router.core": 4}
    upward = {"router.events": {"router.core"}, "router.config.schema": set(), "router.core": set()}
    assert layer_problems(upward, layer) == [
        "router.events (vocabulary) imports router.core (core), a later layer"
    ]
    same_layer = {"a": {"b"}, "b": {"c"}, "c": {"a", "c"}}
    assert layer_problems(same_layer, {"a": 2, "b": 2, "c": 2}) == [
        "import cycle: a -> b -> c -> a"
    ]
    downward = {"router.events": set(), "router.core": {"router.events", "router.config.schema"}}
    assert layer_problems({**downward, "router.config.schema": set()}, layer) == []


def test_the_graph_reader_sees_typing_and_function_level_imports(tmp_path: Path) -> None:
    src = tmp_path / "mod.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from router.core import Router\n"
        "def f():\n"
        "    import router.state.codec\n"
        "    from router.state import records\n"
        "    from .estimate import WaitEstimator\n"
    )
    known = {
        "router.core",
        "router.state",
        "router.state.codec",
        "router.state.records",
        "router.state.estimate",
    }
    assert imports_of(src, known, me="router.state.mod") == known - {"router.state"}


# ---------------------------------------------------------------------- Router privates

CORE_MODULES = ("router/core.py",)


def router_privates() -> set[str]:
    """Private attributes and methods of the Router class (``router/core.py``)."""
    tree = ast.parse((PACKAGE / "core.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Router")
    out: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef) and _private(node.name):
            out.add(node.name)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and _private(node.attr)
        ):
            out.add(node.attr)
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def own_names(tree: ast.AST) -> set[str]:
    """Private names a module defines itself (``self._x`` attributes, ``_methods``)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _private(node.name):
            out.add(node.name)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
            and _private(node.attr)
        ):
            out.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign | ast.Assign):
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    for t in targets:
                        if isinstance(t, ast.Name) and _private(t.id):
                            out.add(t.id)
    return out


def private_uses(source: str, privates: set[str]) -> list[str]:
    """``receiver._name`` accesses of a Router private that the module does not define itself.

    A module may have private attributes of the same name on its own classes
    (the adapters' ``RouterHandle._now``); those are defined in the module, so
    they are not counted. ``self._x`` and ``cls._x`` never are.
    """
    tree = ast.parse(source)
    mine = own_names(tree)
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in privates
            and node.attr not in mine
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            out.append(f"line {node.lineno}: .{node.attr}")
    return out


def test_only_the_core_touches_router_privates() -> None:
    privates = router_privates()
    assert {"_tickets", "_agents", "_match", "_enqueue"} <= privates  # the reader works
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel in CORE_MODULES:
            continue
        uses = private_uses(path.read_text(), privates)
        if uses:
            found[rel] = uses
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "def f(r):\n    return r._tickets\n",
        "class P:\n    def go(self):\n        self.ops.r._enqueue(1)\n",
    ],
)
def test_the_privates_check_finds_an_access(source: str) -> None:
    assert private_uses(source, router_privates()) != []


def test_every_module_has_its_line_in_the_architecture_docs() -> None:
    """docs/architecture.md's "Modules" block has one line per module (a package's folder
    line covers its modules), and names none that is gone."""
    import re

    doc = (ROOT / "docs" / "architecture.md").read_text()
    listed = set(re.findall(r"^(router/\S+)", doc, re.M))
    folders = tuple(x for x in listed if x.endswith("/"))
    modules = {
        p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
    }
    assert sorted(m for m in modules if m not in listed and not m.startswith(folders)) == []
    assert sorted(x for x in listed if not (ROOT / x).exists()) == []
