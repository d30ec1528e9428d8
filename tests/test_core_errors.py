"""Caller mistakes raise UsageError subclasses with exact messages and change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

import router
from router import (
    AgentSpec,
    ConfigError,
    DuplicateId,
    ImpossibleRequirement,
    Inquiry,
    InvalidInput,
    InvalidState,
    Router,
    RouterBroken,
    TimeWentBackwards,
    UnknownId,
    UsageError,
)
from router.core import K_AGENT
from tests.helpers import agent, basic, config, inq


def _router() -> Router:
    r = basic()
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 5)
    r.submit(inq("i2"), 5)
    r.tick(5)  # i1 offered to a1, i2 waiting
    return r


CASES: list[tuple[str, Callable[[Router], object], type[Exception], str]] = [
    (
        "time backwards",
        lambda r: r.submit(inq("x"), 4.0),
        TimeWentBackwards,
        r"^now=4\.0 is earlier than the router's time 5\.0$",
    ),
    (
        "duplicate inquiry",
        lambda r: r.submit(inq("i2"), 6),
        DuplicateId,
        r"^inquiry 'i2' is already in the router$",
    ),
    (
        "unknown queue",
        lambda r: r.submit(inq("x", queue="nope"), 6),
        UnknownId,
        r"^unknown queue 'nope'; known: 'refund', 'chat', 'vip'$",
    ),
    ("unknown inquiry", lambda r: r.accept("zz", 6), UnknownId, r"^unknown inquiry 'zz'$"),
    (
        "accept waiting",
        lambda r: r.accept("i2", 6),
        InvalidState,
        r"^inquiry 'i2' is waiting, not offered$",
    ),
    (
        "accept wrong agent",
        lambda r: r.accept("i1", 6, agent_id="bob"),
        InvalidState,
        r"^inquiry 'i1' is offered to 'a1', not 'bob'$",
    ),
    (
        "complete offered",
        lambda r: r.complete("i1", 6),
        InvalidState,
        r"^inquiry 'i1' is offered, not assigned$",
    ),
    (
        "duplicate agent",
        lambda r: r.login(agent("a1"), 6),
        DuplicateId,
        r"^agent 'a1' is already logged in$",
    ),
    ("unknown agent", lambda r: r.set_ready("ghost", 6), UnknownId, r"^unknown agent 'ghost'$"),
    (
        "unknown channel",
        lambda r: r.login(
            agent("a9", video=1)
            if False
            else __import__("router").AgentSpec(id="a9", capacity={"video": 1}),
            6,
        ),
        InvalidInput,
        r"^capacity\.video: unknown channel 'video'; known: chat, email, task, voice$",
    ),
    (
        "arrived in future",
        lambda r: r.submit(inq("x", arrived_at=9.0), 6),
        InvalidInput,
        r"^arrived_at: 9\.0 is later than now=6\.0$",
    ),
]


@pytest.mark.parametrize(("name", "call", "exc", "message"), CASES, ids=[c[0] for c in CASES])
def test_usage_errors_are_exact_and_change_nothing(
    name: str, call: Callable[[Router], object], exc: type[Exception], message: str
) -> None:
    r = _router()
    before = r.snapshot()
    with pytest.raises(exc, match=message) as info:
        call(r)
    assert isinstance(info.value, UsageError)
    assert r.snapshot() == before
    # still usable
    r.accept("i1", 6)
    assert any(type(e).__name__ == "Assigned" for e in r.tick(6))


def test_strict_mode_rejects_impossible_requirement() -> None:
    r = basic(strict=True)
    r.login(agent("junior", level=2), 0)
    before = r.snapshot()
    with pytest.raises(
        ImpossibleRequirement,
        match=re.escape(
            "inquiry 'v1': no logged-in agent can serve queue 'vip' "
            "(channel 'voice', tenant None, skills refund>=4)"
        ),
    ):
        r.submit(inq("v1", queue="vip"), 1)
    assert r.snapshot() == before  # not even a pool made to look is left behind


def test_invalid_config_raises_with_paths() -> None:
    from tests.helpers import config

    with pytest.raises(ConfigError) as info:
        config("[[queues]]\nname='a'\n[[queues]]\nname='a'\nchannel='fax'")
    assert info.value.problems == [
        "$.queues[1].name: duplicate queue name 'a' (also $.queues[0])",
        "$.queues[1].channel: unknown channel 'fax'; known: chat, email, task, voice",
    ]


@pytest.mark.skipif(router.compiled, reason="patches a Router method: pure build only")
def test_internal_failure_marks_router_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    r = _router()

    def boom(*a: object) -> None:
        raise RuntimeError("bug")

    # on the class: the router's attributes are slots (no instance dict to shadow a method)
    monkeypatch.setattr(Router, "_match", boom)
    with pytest.raises(RuntimeError):
        r.tick(7)
    with pytest.raises(RouterBroken, match=r"^the router failed earlier and refuses inputs$"):
        r.tick(8)


def test_a_corrupt_deadline_marks_the_router_broken_in_either_build() -> None:
    """No patching (the compiled build has no Python methods to patch): a deadline entry
    holding a string where an agent's slot belongs makes the core itself fail."""
    r = _router()
    r._at(6.5, K_AGENT, "not a slot", 0)  # (in the build's form: a tuple, a DeadlineEntry)
    with pytest.raises((AttributeError, TypeError)) as info:
        r.tick(7)  # pure: a list index of str; compiled: the cast to int fails
    assert not isinstance(info.value, UsageError)
    with pytest.raises(RouterBroken, match=r"^the router failed earlier and refuses inputs$"):
        r.tick(8)


@pytest.mark.parametrize(
    "refused",
    [
        lambda r: r.accept("zz", 15),
        lambda r: r.accept("i1", 15),  # refused because the offer ran out as it entered
        lambda r: r.submit(inq("i2"), 15),
        lambda r: r.hand_back("i2", 15),
    ],
    ids=["unknown id", "accept an offer that ran out", "duplicate id", "hand back a waiting one"],
)
def test_a_refused_input_fires_the_deadlines_due_and_nothing_else(
    refused: Callable[[Router], object],
) -> None:
    """Time passed: deadlines due by ``now`` fire as any input enters, refused or not
    (``Router._enter``); the refusal itself leaves no trace, so every refused input at
    one instant leaves the same router as any other."""
    reference = _router()
    with pytest.raises(UnknownId):
        reference.heartbeat("nobody", 15)  # i1's offer to a1 ran out at 15
    r = _router()
    assert r.next_deadline() == 15.0
    with pytest.raises(UsageError):
        refused(r)
    assert r.snapshot() == reference.snapshot()
    assert r._tickets["i1"].state != router.core.OFFERED  # the offer's deadline fired


def test_an_inquiry_of_another_tenant_than_its_queues_is_refused() -> None:
    """A queue that belongs to a tenant takes only that tenant's inquiries: one naming
    another tenant is refused (``InvalidInput`` naming ``tenant``) and changes nothing; one
    naming the queue's tenant, or none (it takes the queue's), is admitted."""
    r = Router(config('[[queues]]\nname = "tb"\nchannel = "voice"\ntenant = "taobao"\n'))
    r.login(AgentSpec(id="a", capacity={"voice": 1}, tenants=frozenset({"taobao"})), 0.0)
    before = r.snapshot()
    with pytest.raises(
        InvalidInput,
        match=r"^tenant: inquiry 'x' has tenant 'fliggy' but queue 'tb' belongs to 'taobao'$",
    ):
        r.submit(Inquiry(id="x", queue="tb", tenant="fliggy"), 1.0)
    assert r.snapshot() == before
    assert r.submit(Inquiry(id="y", queue="tb", tenant="taobao"), 1.0).admitted
    assert r.submit(Inquiry(id="z", queue="tb"), 1.0).admitted
