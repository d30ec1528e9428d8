"""``Router.__slots__`` names every attribute the router sets (router/core.py).

The pure build's router has no instance dict (its ``self._x`` reads and ``self._m()``
calls specialize: BENCHMARKS "The pure lifecycle's bookkeeping (pure27)"), so an
attribute set anywhere in the class but missing from ``__slots__`` would fail only when
that code runs. This reads the class's source: every ``self.<name> = ...`` (plain,
annotated, augmented or in a tuple) must be a slot, and every slot is set.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "router" / "core.py"


def _assigned(cls: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            elts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
            for e in elts:
                if (
                    isinstance(e, ast.Attribute)
                    and isinstance(e.value, ast.Name)
                    and e.value.id == "self"
                ):
                    names.add(e.attr)
    return names


def test_every_attribute_the_router_sets_is_a_slot() -> None:
    tree = ast.parse(CORE.read_text())  # the source (compiled, no module source to read)
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Router"]
    slots = next(
        n.value
        for n in cls.body
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in n.targets)
    )
    declared = set(ast.literal_eval(slots))
    assigned = _assigned(cls)
    assert assigned, "no attribute found: the reader is broken"
    assert sorted(assigned - declared) == [], "set in Router but not in Router.__slots__"
    assert sorted(declared - assigned) == [], "in Router.__slots__ but never set"
