"""A limit on declines in a row (``[routing] max_declines``, docs/tuning.md).

``max_no_answer`` counts expired offers only, so an agent that declines everything sees
the head of the line again and again (each decline of a lone agent ends a round of one).
With ``max_declines = N`` the N-th decline in a row with nothing accepted between sets
the agent away (``AgentAway(reason="max_declines")``), its other offers back in line,
until ``set_ready``, as Genesys Cloud's "Not Responding" (a declined or unanswered offer)
and Salesforce Omni-Channel's "Update Status on Decline" do. Off by default.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import AgentSpec, ConfigError, Inquiry, InvalidSnapshot, Router, decode_config
from router.config.warnings import config_warnings
from tests.helpers import config
from tests.liveness import stalls

ONE = """
[routing]
offer_timeout_s = 30
max_no_answer = 1000
max_declines = 2
[[queues]]
name = "q"
requires = { s = 1 }
"""


def kinds(events: list[Any], name: str) -> list[Any]:
    return [e for e in events if type(e).__name__ == name]


def offers(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in kinds(events, "Offered")]


def away(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.agent_id, e.reason) for e in kinds(events, "AgentAway")]


def lone(toml: str = ONE, **routing: Any) -> Router:
    r = Router(config(toml, **routing))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    assert offers(r.tick(0.0)) == [("x", "a")]
    return r


def test_the_nth_decline_in_a_row_sets_the_agent_away() -> None:
    r = lone()
    r.decline("x", 1.0)
    events = r.tick(1.0)
    assert away(events) == [] and offers(events) == [("x", "a")]  # the round of one ended
    r.decline("x", 2.0)
    events = r.tick(2.0)
    assert away(events) == [("a", "max_declines")]
    assert offers(events) == []
    names = [type(e).__name__ for e in events]
    assert names.index("OfferDeclined") < names.index("Requeued") < names.index("AgentAway")
    st = r.agent_statistics("a")
    assert (st.state, st.reason) == ("away", "max_declines")
    assert r.statistics().waiting == 1 and stalls(r) == []
    assert r.next_deadline() is None  # nothing loops: it waits for a person
    r.set_ready("a", 3.0)
    assert offers(r.tick(3.0)) == [("x", "a")]  # back: offered again, the run from zero
    r.decline("x", 4.0)
    assert away(r.tick(4.0)) == []


def test_an_accept_ends_the_run() -> None:
    r = lone()
    r.submit(Inquiry(id="y", queue="q"), 0.5)
    r.decline("x", 1.0)
    assert offers(r.tick(1.0)) == [("x", "a")]  # x again: the oldest
    r.accept("x", 2.0)
    r.complete("x", 3.0)
    assert offers(r.tick(3.0)) == [("y", "a")]
    r.decline("y", 4.0)  # one decline since the accept
    events = r.tick(4.0)
    assert away(events) == [] and offers(events) == [("y", "a")]
    r.decline("y", 5.0)
    assert away(r.tick(5.0)) == [("a", "max_declines")]


def test_expired_offers_neither_count_nor_end_the_run() -> None:
    r = lone()
    r.decline("x", 1.0)
    r.tick(1.0)
    events = r.tick(31.0)  # the re-offer made at 1 expires at 31: max_no_answer's, not ours
    assert kinds(events, "OfferExpired") and away(events) == []
    assert offers(events) == [("x", "a")]
    r.decline("x", 32.0)  # the second decline in a row: the expiry between does not reset
    assert away(r.tick(32.0)) == [("a", "max_declines")]
    assert r.agent_statistics("a").reason == "max_declines"


def test_hand_backs_neither_count_nor_end_the_run() -> None:
    """A hand-back returns work the agent accepted; the products' rules act on a declined or
    unanswered offer (Genesys Cloud's Not Responding, Salesforce's Update Status on
    Decline, TaskRouter's reject of a pending reservation, Connect's REJECTED/MISSED),
    so ``max_declines`` counts ``decline`` only (docs/routing-features.md)."""
    chat = ONE.replace("requires = { s = 1 }", 'requires = { s = 1 }\nchannel = "chat"')
    r = Router(config(chat))
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 3}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    assert offers(r.tick(0.0)) == [("x", "a")]
    r.accept("x", 1.0)
    r.submit(Inquiry(id="y", queue="q"), 2.0)
    assert offers(r.tick(2.0)) == [("y", "a")]
    r.decline("y", 3.0)  # the run: 1
    assert offers(r.tick(3.0)) == [("y", "a")]
    r.hand_back("x", 4.0)  # counted, the run would be 2: away
    events = r.tick(4.0)
    assert kinds(events, "Requeued")[0].reason == "handed_back"
    assert away(events) == [] and offers(events) == [("x", "a")]
    assert msgspec.msgpack.decode(r.snapshot())["declines"] == {"a": 1}
    r.decline("y", 5.0)  # the second decline in a row: the hand-back between did not reset
    assert away(r.tick(5.0)) == [("a", "max_declines")]


def test_the_away_agents_other_offers_go_back_in_line() -> None:
    chat = ONE.replace("requires = { s = 1 }", 'requires = { s = 1 }\nchannel = "chat"')
    r = Router(config(chat))
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 2}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    r.submit(Inquiry(id="y", queue="q"), 0.0)
    assert offers(r.tick(0.0)) == [("x", "a"), ("y", "a")]
    r.decline("x", 1.0)
    assert offers(r.tick(1.0)) == [("x", "a")]  # y still on offer: room for x again
    r.decline("x", 2.0)
    events = r.tick(2.0)
    assert away(events) == [("a", "max_declines")]
    assert [(e.inquiry_id, e.reason) for e in kinds(events, "Requeued")] == [
        ("x", "declined"),
        ("y", "max_declines"),
    ]
    assert offers(events) == [] and r.statistics().waiting == 2 and stalls(r) == []


def test_off_by_default_an_agent_may_decline_for_ever() -> None:
    r = lone(max_declines=None)
    for n in range(1, 51):
        r.decline("x", float(n))
        events = r.tick(float(n))
        assert away(events) == [] and offers(events) == [("x", "a")]
    assert r.agent_statistics("a").state == "busy"  # holding the 51st offer, not away


def test_the_run_is_in_snapshots_and_left_out_when_none() -> None:
    r = lone()
    r.decline("x", 1.0)
    r.tick(1.0)
    snap = r.snapshot()
    assert msgspec.msgpack.decode(snap)["declines"] == {"a": 1}
    b = Router.restore(snap)
    assert b.snapshot() == snap
    b.decline("x", 2.0)
    assert away(b.tick(2.0)) == [("a", "max_declines")]  # the run went on across the restore
    # no run to keep (the setting off, or an accept since): no field, the bytes as before
    off = lone(max_declines=None)
    off.decline("x", 1.0)
    off.tick(1.0)
    assert "declines" not in msgspec.msgpack.decode(off.snapshot())
    r.accept("x", 3.0)
    assert "declines" not in msgspec.msgpack.decode(r.snapshot())
    assert Router.restore(r.snapshot()).snapshot() == r.snapshot()


@pytest.mark.parametrize("run", [0, -1, 101, 300, 1.5])
def test_a_snapshot_with_a_run_out_of_range_is_refused_naming_the_field(run: Any) -> None:
    # a run is 1..100 as the setting (a u8 in the compiled record): 300 would not wrap there
    # nor pass here, on either build
    r = lone()
    r.decline("x", 1.0)
    r.tick(1.0)
    raw = msgspec.msgpack.decode(r.snapshot())
    raw["declines"] = {"a": run}
    with pytest.raises(InvalidSnapshot, match=r"\$\.declines\[\.\.\.\]"):
        Router.restore(msgspec.msgpack.encode(raw))


def test_a_reconfigure_that_turns_it_off_clears_the_runs() -> None:
    r = lone()
    r.decline("x", 1.0)
    r.tick(1.0)
    r.reconfigure(config(ONE, max_declines=None), 1.5)
    r.reconfigure(config(ONE), 1.6)  # on again: counts from zero
    r.tick(1.6)
    r.decline("x", 2.0)
    assert away(r.tick(2.0)) == []
    r.decline("x", 3.0)
    assert away(r.tick(3.0)) == [("a", "max_declines")]


# ---------------------------------------------------------------- config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        decode_config(text)
    return info.value.problems


def test_the_setting_is_checked_by_field() -> None:
    assert problems("[routing]\nmax_declines = 0\n") == [
        "$.routing.max_declines: Expected int >= 1"
    ]
    assert problems("[routing]\nmax_declines = 101\n") == [
        "$.routing.max_declines: Expected int <= 100"
    ]
    assert problems('[routing]\nmax_declines = "3"\n') == [
        "$.routing.max_declines: Expected int | null, got str"
    ]
    assert decode_config("[routing]\nmax_declines = 3\n").routing.max_declines == 3
    assert decode_config('[routing]\nmode = "offer"\n').routing.max_declines is None


def test_a_warning_where_it_does_nothing() -> None:
    text = '[routing]\nmode = "immediate"\nmax_declines = 2\n[[queues]]\nname = "q"\n'
    assert config_warnings(decode_config(text)) == [
        '$.routing.max_declines: 2 does nothing with mode = "immediate" (no offer to decline)'
    ]
    assert config_warnings(decode_config(text.replace("immediate", "offer"))) == []
