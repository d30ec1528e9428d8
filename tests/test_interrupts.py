"""Interruptible capacity: a voice call may take an agent whose chats fill its units."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, ConfigError, Router, decode_config, encode_events
from tests.helpers import config, inq

BLEND = """
[routing]
mode = "immediate"
trace = true
[channels.voice]
max_concurrency = 1
unit_cost = 100
%s
[[queues]]
name = "voice"
channel = "voice"
[[queues]]
name = "chat"
channel = "chat"
[[queues]]
name = "email"
channel = "email"
"""


def router(interrupts: str = "interrupts = { chat = 2 }") -> Router:
    r = Router(config(BLEND % interrupts))
    r.login(AgentSpec(id="ye", capacity={"voice": 1, "chat": 5, "email": 2}, units=100), 0)
    return r


def assigned(events: list[Any]) -> list[Any]:
    return [e for e in events if type(e).__name__ == "Assigned"]


def hold(r: Router, queue: str, n: int, now: float, prefix: str = "") -> None:
    for i in range(n):
        r.submit(inq(f"{prefix or queue}{i}", queue=queue), now)
    assert len(assigned(r.tick(now))) == n


def test_without_interrupts_chats_that_fill_the_units_keep_a_call_out() -> None:
    r = router("")
    hold(r, "chat", 1, 1)  # 20 units: a call (100) does not fit
    r.submit(inq("call", queue="voice"), 2)
    assert assigned(r.tick(2)) == []


def test_a_call_interrupts_up_to_the_configured_chats_and_explains_it() -> None:
    r = router()
    hold(r, "chat", 2, 1)
    r.submit(inq("call", queue="voice"), 2)
    (ev,) = assigned(r.tick(2))
    assert (ev.inquiry_id, ev.agent_id) == ("call", "ye")
    assert ev.explanation is not None and ev.explanation.interrupted == {"chat": 2}
    assert r.counters.interruptions == 1
    # the chats keep running; nothing new fits until the units drain below the budget
    r.submit(inq("chat9", queue="chat"), 3)
    assert assigned(r.tick(3)) == []
    for k in ("chat0", "chat1", "call"):
        r.complete(k, 4)
    assert [e.inquiry_id for e in assigned(r.tick(4))] == ["chat9"]


def test_an_ordinary_assignment_explains_no_interruption() -> None:
    r = router()
    r.submit(inq("call", queue="voice"), 1)
    (ev,) = assigned(r.tick(1))
    assert ev.explanation is not None and ev.explanation.interrupted is None
    assert r.counters.interruptions == 0


def test_more_chats_than_the_threshold_are_not_interrupted() -> None:
    r = router()
    hold(r, "chat", 3, 1)
    r.submit(inq("call", queue="voice"), 2)
    assert assigned(r.tick(2)) == []
    r.complete("chat0", 3)  # two left: now it may interrupt them
    assert [e.inquiry_id for e in assigned(r.tick(3))] == ["call"]


def test_work_of_channels_that_cannot_be_interrupted_still_counts() -> None:
    r = router()
    hold(r, "email", 1, 1)  # 10 units, not interruptible
    hold(r, "chat", 1, 1)
    r.submit(inq("call", queue="voice"), 2)
    assert assigned(r.tick(2)) == []  # 10 + 100 > 100 even with the chat set aside


def test_the_voice_cap_is_never_relaxed() -> None:
    r = router()
    r.submit(inq("call1", queue="voice"), 1)
    r.submit(inq("call2", queue="voice"), 1)
    assert len(assigned(r.tick(1))) == 1


def test_a_freed_agent_pulls_a_call_by_interrupting() -> None:
    r = router()
    hold(r, "chat", 3, 1)
    r.submit(inq("call", queue="voice"), 2)
    r.tick(2)
    r.complete("chat2", 3)  # the agent is freed with two chats: it pulls the call
    assert [e.inquiry_id for e in assigned(r.tick(3))] == ["call"]
    assert [e for e in r.tick(3)] == []


def test_bad_interrupts_name_their_paths() -> None:
    with pytest.raises(ConfigError) as info:
        decode_config(
            b"""
[channels.voice]
interrupts = { voice = 1, fax = 1, chat = 99 }
"""
        )
    assert info.value.problems == [
        "$.channels.voice.interrupts.voice: a channel cannot interrupt itself",
        "$.channels.voice.interrupts.fax: unknown channel 'fax'; known: chat, email, task, voice",
        "$.channels.voice.interrupts.chat: 99 is above the channel's hard maximum 30",
    ]


def test_interruptions_survive_a_snapshot() -> None:
    r = router()
    hold(r, "chat", 2, 1)
    snap = r.snapshot()
    restored = Router.restore(snap)
    assert restored.snapshot() == snap
    out = []
    for x in (r, restored):
        x.submit(inq("call", queue="voice"), 2)
        events = x.tick(2)
        x.complete("chat0", 3)
        x.submit(inq("chat7", queue="chat"), 3)
        events += x.tick(3)
        out.append(encode_events(events))
    assert out[0] == out[1]
    assert b'"interrupted":{"chat":2}' in out[0]


def test_explain_prints_the_interruption() -> None:
    from router.cli.check import format_explanation

    r = router()
    hold(r, "chat", 2, 1)
    r.submit(inq("call", queue="voice"), 2)
    (ev,) = assigned(r.tick(2))
    lines = format_explanation(ev)
    assert lines[-1] == "  (an interruption: 2 chat keep running past the agent's capacity units)"
