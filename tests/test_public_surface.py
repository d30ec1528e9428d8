"""The typed public surface: an explicit facade, typed tick and counters, cheap statistics."""

from __future__ import annotations

import ast
import importlib.metadata
import typing
from pathlib import Path
from typing import Any

import msgspec

import router
from router import Counters, Event, Router, RouterStatistics
from router import events as events_module
from tests.helpers import agent, basic, inq

PACKAGE = Path(router.__file__).parent


def test_the_facade_is_explicit() -> None:
    assert len(router.__all__) == len(set(router.__all__))
    for name in router.__all__:
        assert hasattr(router, name), name
    missing = [n for n in events_module.__all__ if n not in router.__all__ and n != "wire_seconds"]
    assert missing == []
    stars = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
    ]
    assert stars == []


def test_the_version_comes_from_the_package_metadata() -> None:
    assert router.__version__ == importlib.metadata.version("inquiry-router")


def _tick_return_annotation() -> str:
    """``Router.tick``'s return annotation as written in ``router/core.py`` (the compiled
    build's methods carry no ``__annotations__``; mypyc checks the types instead)."""
    tree = ast.parse((PACKAGE / "core.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Router":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "tick":
                    assert item.returns is not None
                    return ast.unparse(item.returns)
    raise AssertionError("no Router.tick in router/core.py")


def test_tick_is_typed_and_returns_events() -> None:
    if getattr(Router.tick, "__annotations__", None):  # the pure build: the resolved hint
        assert typing.get_type_hints(Router.tick)["return"] == list[Event]
    assert _tick_return_annotation() == "list[Event]"
    r = basic()
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 1)
    events = r.tick(1)
    assert events and all(isinstance(e, typing.get_args(Event)) for e in events)


def test_counters_are_a_fixed_struct() -> None:
    fields = {f.name for f in msgspec.structs.fields(Counters)}
    r = basic()
    assert {f.name for f in msgspec.structs.fields(r.counters)} == fields
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 1)
    r.tick(1)
    c = r.counters
    assert (c.submitted, c.admitted, c.offers, c.decisions) == (1, 1, 1, 1)
    c.submitted = 99  # a copy: the router's own counts do not move
    assert r.counters.submitted == 1
    assert r.statistics().counters == r.counters


class _NoScan(dict[str, Any]):
    """A dict that refuses to be scanned (statistics() walks neither inquiries nor agents)."""

    def values(self) -> Any:
        raise AssertionError("statistics() scanned a table")

    def items(self) -> Any:
        raise AssertionError("statistics() scanned a table")

    def __iter__(self) -> Any:
        raise AssertionError("statistics() scanned a table")


def test_statistics_never_scan_the_inquiries_or_the_agents() -> None:
    r = basic()
    r.login(agent("a1", chat=3), 0)
    r.login(agent("a2"), 0)
    for i in range(6):
        r.submit(inq(f"v{i}"), 1)
    r.submit(inq("c1", queue="chat"), 1)
    r.tick(1)
    r.accept("v0", 2)
    r.complete("v0", 3)
    r.tick(3)
    expected = _count(r)
    r._tickets = _NoScan(r._tickets)
    r._agents = _NoScan(r._agents)
    s = r.statistics()
    assert isinstance(s, RouterStatistics)
    assert (s.waiting, s.offered, s.in_service, s.wrap_up, s.parked) == expected
    assert (s.agents_logged_in, s.agents_ready, s.agents_with_room) == (2, 2, 1)


def _count(r: Router) -> tuple[int, ...]:
    states = [t.state for t in r._tickets.values()]
    return tuple(states.count(k) for k in (1, 2, 3, 4, 6))  # WAITING OFFERED ASSIGNED WRAPUP PARKED
