"""A Python caller may give a set, list or tuple where the wire gives a frozenset (an
inquiry's tags, an agent's or a shift's tenants): ``router.values`` checks and accepts
them, and both builds route with them alike (the compiled one raised mypyc's TypeError)."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, QueueConfig, Router, RouterConfig
from router.config import Routing
from router.model import Shift

FORMS = [frozenset, set, list, tuple]


def _router() -> Router:
    return Router(
        RouterConfig(
            queues=[QueueConfig(name="taobao", tenant="t"), QueueConfig(name="fliggy", tenant="f")],
            routing=Routing(mode="immediate"),
        )
    )


def _served(router: Router, now: float) -> dict[str, str | None]:
    for queue in ("taobao", "fliggy"):
        router.submit(Inquiry(id=f"{queue}@{now}", queue=queue), now=now)
    router.tick(now=now)
    return {q: router.agent_of(f"{q}@{now}") for q in ("taobao", "fliggy")}


@pytest.mark.parametrize("form", FORMS)
def test_an_agents_tenants_in_any_form(form: Any) -> None:
    router = _router()
    router.login(AgentSpec(id="a", skills={}, tenants=form(["f"])), now=0.0)
    assert _served(router, 1.0) == {"taobao": None, "fliggy": "a"}


@pytest.mark.parametrize("form", FORMS)
def test_a_shifts_tenants_in_any_form(form: Any) -> None:
    router = _router()
    shifts = [
        Shift(start_s=0.0, end_s=100.0, tenants=form(["t"])),  # Taobao by day
        Shift(start_s=100.0, tenants=form(["f"])),  # then Fliggy in the evening
    ]
    router.login(AgentSpec(id="a", skills={}, shifts=shifts), now=0.0)
    assert _served(router, 1.0) == {"taobao": "a", "fliggy": None}
    router.complete("taobao@1.0", now=50.0)
    router.tick(now=150.0)
    assert router.agent_of("fliggy@1.0") == "a"  # the evening shift takes the one left


@pytest.mark.parametrize("form", FORMS)
def test_an_inquirys_tags_in_any_form(form: Any) -> None:
    router = _router()
    router.login(AgentSpec(id="a", skills={}, tenants=frozenset({"t"})), now=0.0)
    router.submit(Inquiry(id="c", queue="taobao", tags=form(["heavy", "vip"])), now=1.0)
    router.tick(now=1.0)
    assert router.agent_of("c") == "a"
