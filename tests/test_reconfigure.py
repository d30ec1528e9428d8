"""Hot reconfigure: atomic, versioned, never drops or preempts, invalid changes nothing."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from router import (
    AgentSpec,
    Assigned,
    ConfigError,
    Inquiry,
    Queued,
    Reconfigured,
    Rejected,
    Router,
    RouterConfig,
    Routing,
    Weights,
)
from router.config import QueueConfig
from tests.helpers import config

V1 = """
[routing]
mode = "immediate"
trace = true
weights = { proficiency = 1.0, idle_time = 0, load = 0 }
[[queues]]
name = "refund"
requires = { refund = 1 }
[[queues]]
name = "old"
requires = { legacy = 1 }
[[queues]]
name = "chat"
channel = "chat"
"""


def _events(r: Router, now: float, cls: type) -> list[Any]:
    return [e for e in r.tick(now) if isinstance(e, cls)]


def test_versions_are_bumped_and_carried_by_events() -> None:
    r = Router(config(V1))
    r.login(AgentSpec(id="a", skills={"refund": 1}), 0)
    r.submit(Inquiry(id="i1", queue="refund"), 0)
    assert {e.version for e in r.tick(0)} == {1}
    assert r.reconfigure(config(V1), 1) == 2
    assert r.version == 2 and r.statistics().version == 2
    r.submit(Inquiry(id="i2", queue="refund"), 2)
    ev = r.tick(2)
    assert [type(e).__name__ for e in ev] == ["Reconfigured", "Queued"]
    assert ev[0] == Reconfigured(at=1.0, version=2, handed_over=0, rejected=0)
    assert {e.version for e in ev} == {2}


def test_new_weights_apply_to_the_next_decision() -> None:
    r = Router(config(V1))
    r.login(AgentSpec(id="expert", skills={"refund": 5}), 0)
    r.login(AgentSpec(id="novice", skills={"refund": 1}), 0)
    r.submit(Inquiry(id="i1", queue="refund"), 1)
    (ev,) = _events(r, 1, Assigned)
    assert ev.agent_id == "expert"
    r.complete("i1", 2)
    r.tick(2)
    # from now on idle time dominates and proficiency counts for nothing
    v2 = V1.replace("proficiency = 1.0, idle_time = 0", "proficiency = 0, idle_time = 1.0")
    r.reconfigure(config(v2), 3)
    r.submit(Inquiry(id="i2", queue="refund"), 3)
    (ev,) = _events(r, 3, Assigned)
    assert (ev.agent_id, ev.version) == ("novice", 2)
    assert ev.explanation.chosen.weights["idle_time"] == 1.0


def _waiting_in_old() -> Router:
    r = Router(config(V1))
    for k in range(3):
        r.submit(Inquiry(id=f"w{k}", queue="old"), float(k))
    r.tick(2)
    return r


def test_removed_queue_hands_waiting_inquiries_over_keeping_their_place() -> None:
    r = _waiting_in_old()
    r.submit(Inquiry(id="r1", queue="refund"), 2.5)  # arrived after w0..w2
    r.tick(2.5)
    v2 = V1.replace('name = "old"\nrequires = { legacy = 1 }', 'name = "new"')
    r.reconfigure(config(v2), 3, hand_over={"old": "refund"})
    assert _events(r, 3, Reconfigured) == [
        Reconfigured(
            at=3.0,
            version=2,
            handed_over=3,
            rejected=0,
            answer_targets=(("new", 20.0),),  # the queue added (fix50)
            channels=(("new", "voice"),),
        )
    ]
    assert {r.inquiry_state(f"w{k}") for k in range(3)} == {"waiting"}
    r.login(AgentSpec(id="a", skills={"refund": 1}), 4)
    order = []
    for t in range(4, 8):
        for e in _events(r, float(t), Assigned):
            order.append(e.inquiry_id)
            r.complete(e.inquiry_id, float(t) + 1)
    assert order == ["w0", "w1", "w2", "r1"]  # arrival order survives the move
    assert r.counters.rejected == 0


def test_removed_queue_uses_its_on_remove_unless_hand_over_says_otherwise() -> None:
    with_on_remove = V1.replace('name = "old"', 'name = "old"\non_remove = "refund"')
    without_old = V1.replace('name = "old"\nrequires = { legacy = 1 }', 'name = "spare"')
    r = Router(config(with_on_remove))
    r.submit(Inquiry(id="w0", queue="old"), 0)
    r.tick(0)
    r.reconfigure(config(without_old), 1)
    assert _events(r, 1, Reconfigured)[0].handed_over == 1
    assert r.inquiry_state("w0") == "waiting"
    r = Router(config(with_on_remove))
    r.submit(Inquiry(id="w0", queue="old"), 0)
    r.tick(0)
    r.reconfigure(config(without_old), 1, hand_over={"old": "spare"})
    r.login(AgentSpec(id="a"), 2)
    (ev,) = _events(r, 2, Assigned)
    assert (ev.inquiry_id, ev.queue) == ("w0", "spare")


def test_removed_queue_without_target_rejects_with_a_reason_never_drops() -> None:
    r = _waiting_in_old()
    r.reconfigure(config(V1.replace('name = "old"', 'name = "older"')), 3)
    ev = r.tick(3)
    assert [e for e in ev if isinstance(e, Rejected)] == [
        Rejected(at=3.0, version=2, inquiry_id=f"w{k}", queue="old", reason="queue_removed")
        for k in range(3)
    ]
    assert ev[-1] == Reconfigured(
        at=3.0,
        version=2,
        handed_over=0,
        rejected=3,
        answer_targets=(("older", 20.0),),  # the queue added (fix50)
        channels=(("older", "voice"),),
    )
    assert r.counters.rejected == 3
    assert r.statistics().waiting == 0


def test_inquiries_in_service_in_a_removed_queue_finish_there() -> None:
    r = Router(config(V1))
    r.login(AgentSpec(id="a", skills={"legacy": 1}), 0)
    r.submit(Inquiry(id="i1", queue="old"), 0)
    r.tick(0)
    v2 = V1.replace('name = "old"\nrequires = { legacy = 1 }', 'name = "other"')
    r.reconfigure(config(v2), 1)
    assert r.inquiry_state("i1") == "assigned"
    r.complete("i1", 5)
    ev = r.tick(5)
    assert [(type(e).__name__, e.version) for e in ev] == [("Reconfigured", 2), ("Completed", 2)]
    restored = Router.restore(r.snapshot())  # a dropped queue's pool must not break snapshots
    assert restored.snapshot() == r.snapshot()
    with pytest.raises(Exception, match=r"^unknown queue 'old'; known: 'refund', 'chat', 'other'$"):
        r.submit(Inquiry(id="i2", queue="old"), 6)


def test_lowered_cap_stops_new_work_until_under_it_and_never_preempts() -> None:
    r = Router(config(V1))
    r.login(AgentSpec(id="a", capacity={"chat": 4}), 0)
    for k in range(4):
        r.submit(Inquiry(id=f"c{k}", queue="chat"), 0)
    assert len(_events(r, 0, Assigned)) == 4
    r.reconfigure(config(V1 + "[channels.chat]\nmax_concurrency = 2\nunit_cost = 20\n"), 1)
    r.submit(Inquiry(id="new", queue="chat"), 1)
    assert _events(r, 1, Assigned) == []
    assert [r.inquiry_state(f"c{k}") for k in range(4)] == ["assigned"] * 4  # not preempted
    r.complete("c0", 2)
    assert _events(r, 2, Assigned) == []  # 3 held, cap 2
    r.complete("c1", 3)
    assert _events(r, 3, Assigned) == []  # 2 held, cap 2
    r.complete("c2", 4)
    assert [e.inquiry_id for e in _events(r, 4, Assigned)] == ["new"]  # 1 held: room again


SMS = V1 + "[channels.sms]\nmax_concurrency = 2\n"


def _loaded() -> Router:
    r = Router(config(SMS))
    spec = AgentSpec(id="a", skills={"refund": 2}, capacity={"voice": 1, "chat": 3, "sms": 1})
    r.login(spec, 0)
    r.submit(Inquiry(id="i1", queue="refund"), 0)
    r.submit(Inquiry(id="c1", queue="chat"), 0)
    r.submit(Inquiry(id="w1", queue="old"), 0)
    r.tick(0)
    return r


def _without_old() -> RouterConfig:
    return config(SMS.replace('name = "old"\nrequires = { legacy = 1 }', 'name = "spare"'))


def _replace(cfg: RouterConfig, **fields: Any) -> RouterConfig:
    return msgspec.structs.replace(cfg, **fields)


INVALID: list[tuple[str, Callable[[], RouterConfig], dict[str, str] | None, str]] = [
    (
        "duplicate queue",
        lambda: _replace(
            config(SMS), queues=[*config(SMS).queues, QueueConfig(name="chat", channel="chat")]
        ),
        None,
        r"^\$\.queues\[3\]\.name: duplicate queue name 'chat' \(also \$\.queues\[2\]\)$",
    ),
    (
        "infinite weight",
        lambda: _replace(config(SMS), routing=Routing(weights=Weights(load=math.inf))),
        None,
        r"^\$\.routing\.weights\.load: must be a finite number, got inf$",
    ),
    (
        "unknown policy",
        lambda: _replace(
            config(SMS),
            backpressure=msgspec.structs.replace(config(SMS).backpressure, policy="nope"),
        ),
        None,
        r"^\$\.backpressure\.policy: unknown policy 'nope'; known: ",
    ),
    (
        "hand-over target missing",
        _without_old,
        {"old": "nowhere"},
        r"^hand_over\.old: target queue 'nowhere' is not in the new config$",
    ),
    (
        "hand-over of a queue that is not removed",
        lambda: config(SMS),
        {"refund": "chat"},
        r"^hand_over\.refund: 'refund' is not a queue this config removes$",
    ),
    (
        "channel in use dropped",
        lambda: config(V1),
        None,
        r"^\$\.channels: agent 'a' uses channel 'sms', which the new config drops$",
    ),
    (
        "queue changes channel while in service",
        lambda: config(SMS.replace('channel = "chat"', 'channel = "email"')),
        None,
        r"^\$\.queues\[2\]\.channel: queue 'chat' still holds 1 inquiries on 'chat' "
        r"\(offered or in service\); change the channel once they finish, or add a new "
        r"queue and remove this one$",
    ),
]


@pytest.mark.parametrize(
    ("build", "hand_over", "pattern"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_config_changes_nothing(
    build: Callable[[], RouterConfig], hand_over: dict[str, str] | None, pattern: str
) -> None:
    r = _loaded()
    before = r.snapshot()
    with pytest.raises(ConfigError) as info:
        r.reconfigure(build(), 0, hand_over=hand_over)
    assert len(info.value.problems) == 1
    assert re.match(pattern, info.value.problems[0]), info.value.problems
    assert r.snapshot() == before
    assert r.version == 1
    assert r.tick(0) == []


def test_queue_may_change_channel_once_its_work_is_done() -> None:
    r = _loaded()
    r.complete("c1", 1)
    r.tick(1)
    assert r.reconfigure(config(SMS.replace('channel = "chat"', 'channel = "email"')), 1) == 2


def test_invalid_config_at_a_later_time_only_lets_time_pass() -> None:
    r = _loaded()
    r.tick(0)
    with pytest.raises(ConfigError):
        r.reconfigure(_without_old(), 10, hand_over={"old": "nowhere"})
    assert r.version == 1
    assert r.now == 0.0  # nothing was due: time rolls back with the refused input
    assert r.tick(10) == []


def test_queued_event_after_hand_over_names_the_new_queue() -> None:
    r = _waiting_in_old()
    r.reconfigure(
        config(V1.replace('name = "old"', 'name = "older"')), 3, hand_over={"old": "chat"}
    )
    r.login(AgentSpec(id="c", capacity={"chat": 5}), 4)
    ev = r.tick(4)
    assert [(e.inquiry_id, e.queue) for e in ev if isinstance(e, Assigned)] == [
        ("w0", "chat"),
        ("w1", "chat"),
        ("w2", "chat"),
    ]
    assert not [e for e in ev if isinstance(e, Queued)]


STEPPED = """
[routing]
mode = "immediate"
[[queues]]
name = "a"
requires = { x = 3 }
steps = [{ after_s = 10, requires = { x = 2 } }, { after_s = 20, requires = { x = 1 } }]
[[queues]]
name = "b"
requires = { x = 3 }
"""


def test_steps_removed_while_an_inquiry_is_past_them() -> None:
    r = Router(config(STEPPED))
    r.submit(Inquiry(id="i1", queue="a"), 0)
    r.tick(25)  # past both steps: needs x >= 1 now
    r.reconfigure(config(STEPPED.replace("steps = [", "# steps = [")), 26)
    r.login(AgentSpec(id="lo", skills={"x": 1}), 26)
    assert _events(r, 26, Assigned) == []  # back to the full requirement
    r.login(AgentSpec(id="hi", skills={"x": 3}), 27)
    assert [e.agent_id for e in _events(r, 27, Assigned)] == ["hi"]


def test_changed_steps_apply_by_time_already_waited() -> None:
    r = Router(config(STEPPED))
    r.submit(Inquiry(id="i1", queue="a"), 0)
    r.tick(15)  # at step 1: x >= 2
    later = STEPPED.replace("after_s = 10", "after_s = 40").replace("after_s = 20", "after_s = 50")
    r.reconfigure(config(later), 16)
    r.login(AgentSpec(id="mid", skills={"x": 2}), 16)
    assert _events(r, 16, Assigned) == []  # the new first step is only due at 40
    assert r.next_deadline() == 40.0
    assert [e.agent_id for e in _events(r, 40, Assigned)] == ["mid"]


def test_handed_over_inquiries_follow_the_target_queues_steps() -> None:
    text = STEPPED.replace('name = "b"\nrequires = { x = 3 }', 'name = "b"\nrequires = { y = 1 }')
    r = Router(config(text))
    r.submit(Inquiry(id="i1", queue="b"), 0)
    r.tick(100)
    r.reconfigure(config(STEPPED.replace('name = "b"', 'name = "c"')), 100, hand_over={"b": "a"})
    r.login(AgentSpec(id="lo", skills={"x": 1}), 100)
    assert _events(r, 100, Assigned) == []  # the steps count from the hand-over
    assert _events(r, 119, Assigned) == []
    assert [e.agent_id for e in _events(r, 120, Assigned)] == ["lo"]


def test_arrivals_after_a_requirement_change_join_the_new_pool() -> None:
    """Arrivals with the same terms share a pool (``TicketTerms`` keep it between them):
    after a reconfigure that changes the queue's requirement, the next arrival with those
    terms goes to the new requirement's pool, not the one before."""
    cfg = config(
        """
[routing]
mode = "immediate"
[[queues]]
name = "q"
requires = { a = 1 }
"""
    )
    r = Router(cfg)
    r.submit(Inquiry(id="i1", queue="q"), 0.0)
    r.submit(Inquiry(id="i2", queue="q"), 0.0)
    assert r._tickets["i1"].pool is r._tickets["i2"].pool
    queue = msgspec.structs.replace(cfg.queues[0], requires={"b": 1})
    r.reconfigure(msgspec.structs.replace(cfg, queues=[queue]), 1.0)
    r.submit(Inquiry(id="i3", queue="q"), 2.0)
    r.login(AgentSpec(id="ag-b", skills={"b": 1}), 3.0)
    events = r.tick(3.0)
    assigned = sorted(e.inquiry_id for e in events if isinstance(e, Assigned))
    assert assigned == ["i1"], events  # one slot: the oldest of the three, all on b now
    pools = {r._tickets[i].pool for i in ("i2", "i3")}
    (pool,) = pools
    assert pool is not None and pool.key[2] == (("b", 1),)
    assert pool is next(p for k, p in r._pools.items() if k[2] == (("b", 1),))
