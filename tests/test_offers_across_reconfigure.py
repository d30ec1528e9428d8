"""Open offers across a reconfigure: held to the new config (rp41).

A reconfigure rebuilds the pools. An inquiry on offer used to keep the old config's pool,
one the router no longer listed: a no-op ``update_agent`` of its agent took the offer back
and offered it again (events a router never reconfigured does not emit), a shift change
checked the offer against the old config's requirement, and an offer the new config
forbids (a higher skill level, a queue ``match`` the agent fails) stayed open to the
agent and could be accepted. Now the reconfigure gives each open offer the pool it would
wait in under the new config and takes it back, ``reason="reconfigured"``, from an agent
that pool does not list, at once (an offer may stay open for its whole timeout).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import (
    InvalidState,
    OfferRescinded,
    Reconfigured,
    Requeued,
    Router,
    RouterConfig,
    Shift,
)
from tests.helpers import BASIC, agent, config, inq, names

PLAIN = BASIC.replace("offer_timeout_s = 10", "offer_timeout_s = 60")


def _with_refund(text: str, **fields: Any) -> RouterConfig:
    """``text``'s config with queue ``refund``'s fields replaced."""
    cfg = config(text)
    queues = [msgspec.structs.replace(q, **fields) if q.name == "refund" else q for q in cfg.queues]
    return msgspec.structs.replace(cfg, queues=queues)


def _offered(text: str = PLAIN, **a1: Any) -> Router:
    """a1 (refund 2) holds i1's offer (60 s to answer) from 1 s."""
    r = Router(config(text))
    r.login(agent("a1", level=2, **a1), 0)
    r.submit(inq("i1"), 1)
    assert names(r.tick(1))[-1] == "Offered"
    return r


def _unversioned(events: list[Any]) -> list[Any]:
    """The events but ``Reconfigured``, each with version 0 (a twin never reconfigured
    is at version 1)."""
    return [
        msgspec.structs.replace(e, version=0) for e in events if not isinstance(e, Reconfigured)
    ]


def _listed(r: Router, inquiry_id: str) -> bool:
    """Whether the inquiry's pool is one of the router's (``Snapshot.lost_pools``)."""
    pool = r._tickets[inquiry_id].pool
    return pool is not None and r._pools.get(pool.key) is pool


@pytest.mark.parametrize("waiting", [False, True], ids=["alone", "i2 waits in the same pool"])
def test_a_no_op_agent_update_after_a_reconfigure_changes_nothing(waiting: bool) -> None:
    # the bug: the update took the offer back and offered it again
    # (``Requeued, AgentUpdated, Offered``), which the twin never reconfigured does not do
    def run(reconfigure: bool) -> list[Any]:
        r = _offered()
        if reconfigure:
            r.reconfigure(config(PLAIN), 2)  # the same config again
        if waiting:
            r.submit(inq("i2"), 3)
        out = r.tick(3)
        r.update_agent(agent("a1", level=2), 4)
        out += r.tick(4)
        r.accept("i1", 5)
        return out + r.tick(5)

    kept = run(reconfigure=True)
    assert names(kept)[:1] == ["Reconfigured"]
    assert _unversioned(kept) == _unversioned(run(reconfigure=False))
    assert names(kept)[-2:] == ["AgentUpdated", "Assigned"]


def test_the_offers_pool_is_the_new_configs_own() -> None:
    r = _offered()
    r.reconfigure(config(PLAIN), 2)
    assert _listed(r, "i1")
    assert r._tickets["i1"].pool in [p for p, _, _ in r._agents["a1"].pools]


TIGHTER = {
    "skill level": {"requires": {"refund": 3}},
    "match": {"match": "vip == true"},
}


@pytest.mark.parametrize("change", list(TIGHTER))
def test_an_offer_the_new_config_forbids_goes_back_at_once(change: str) -> None:
    # a production router does not leave an offer open (up to its timeout) to an agent the
    # config in force forbids: taken back by the reconfigure itself, with its reason
    r = _offered(attributes={"vip": False})
    r.reconfigure(_with_refund(PLAIN, **TIGHTER[change]), 2)
    ev = r.tick(2)
    assert ev == [
        Requeued(at=2.0, version=2, inquiry_id="i1", queue="refund", reason="reconfigured"),
        Reconfigured(at=2.0, version=2, handed_over=0, rejected=0),
    ]
    assert r.inquiry_state("i1") == "waiting"
    with pytest.raises(InvalidState):
        r.accept("i1", 3)
    assert r.agent_statistics("a1").state == "idle"  # its slot is free
    r.login(agent("a2", level=3, attributes={"vip": True}), 4)
    assert [(type(e).__name__, e.agent_id) for e in r.tick(4)][-1] == ("Offered", "a2")


def test_an_offer_the_new_config_still_allows_stands() -> None:
    r = _offered()
    r.reconfigure(_with_refund(PLAIN, requires={"refund": 2}), 2)
    assert names(r.tick(2)) == ["Reconfigured"]
    assert _listed(r, "i1") and r._tickets["i1"].pool.key[2] == (("refund", 2),)
    r.accept("i1", 3)
    assert names(r.tick(3)) == ["Assigned"]


MULTI = PLAIN.replace('name = "refund"', 'name = "refund"\nmax_offers = 2')


def test_a_ring_loses_only_the_holders_the_new_config_forbids() -> None:
    r = Router(config(MULTI))
    r.login(agent("a1", level=2), 0)
    r.login(agent("a3", level=3), 0)
    r.submit(inq("i1"), 1)
    r.tick(1)
    assert sorted(r.offered_to("i1")) == ["a1", "a3"]
    r.reconfigure(_with_refund(MULTI, requires={"refund": 3}), 2)
    assert r.tick(2) == [
        OfferRescinded(at=2.0, version=2, inquiry_id="i1", agent_id="a1", reason="reconfigured"),
        Reconfigured(at=2.0, version=2, handed_over=0, rejected=0),
    ]
    assert r.offered_to("i1") == ["a3"] and _listed(r, "i1")
    r.accept("i1", 3, agent_id="a3")
    assert [(type(e).__name__, e.agent_id) for e in r.tick(3)] == [("Assigned", "a3")]


def test_a_ring_the_new_config_forbids_whole_goes_back_once() -> None:
    r = Router(config(MULTI))
    r.login(agent("a1", level=2), 0)
    r.login(agent("a2", level=2), 0)
    r.submit(inq("i1"), 1)
    r.tick(1)
    assert sorted(r.offered_to("i1")) == ["a1", "a2"]
    r.reconfigure(_with_refund(MULTI, requires={"refund": 3}), 2)
    ev = r.tick(2)
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in ev] == [
        ("OfferRescinded", "reconfigured"),
        ("Requeued", "reconfigured"),
        ("Reconfigured", None),
    ]
    assert r.inquiry_state("i1") == "waiting" and r.offered_to("i1") == []


def test_an_offer_of_a_removed_queue_finishes_there() -> None:
    # "offered and assigned ones finish where they are": the offer stands (the removed
    # queue's requirement is the one it had), and an agent update leaves it alone
    r = _offered()
    cfg = config(PLAIN)
    r.reconfigure(msgspec.structs.replace(cfg, queues=cfg.queues[1:]), 2)
    assert names(r.tick(2)) == ["Reconfigured"]
    assert _listed(r, "i1")
    r.update_agent(agent("a1", level=2), 3)
    assert names(r.tick(3)) == ["AgentUpdated"]
    r.accept("i1", 4)
    assert names(r.tick(4)) == ["Assigned"]


SHIFTS = {
    "keeps refund": [Shift(start_s=0.0, end_s=20.0), Shift(start_s=20.0)],
    "drops refund": [Shift(start_s=0.0, end_s=20.0), Shift(start_s=20.0, queues={"chat": 1.0})],
}
REQUIRES = {"same": 1, "raised within a1's level": 2, "raised past a1's level": 3}


@pytest.mark.parametrize("shift", list(SHIFTS))
@pytest.mark.parametrize("level", list(REQUIRES))
def test_a_shift_change_after_a_reconfigure_checks_the_new_config(level: str, shift: str) -> None:
    # the bug: the shift change checked the offer against the old config's requirement,
    # so an offer the new config forbids stayed through it and was accepted
    r = _offered(shifts=SHIFTS[shift])
    r.reconfigure(_with_refund(PLAIN, requires={"refund": REQUIRES[level]}), 2)
    at_reconfigure = [e.reason for e in r.tick(2) if isinstance(e, Requeued)]
    at_shift = [e.reason for e in r.tick(20) if isinstance(e, Requeued)]
    fits = REQUIRES[level] <= 2
    assert at_reconfigure == ([] if fits else ["reconfigured"])
    assert at_shift == (["shift_change"] if fits and shift == "drops refund" else [])
    stands = fits and shift == "keeps refund"
    assert r.inquiry_state("i1") == ("offered" if stands else "waiting")
    if stands:
        r.accept("i1", 21)
        assert names(r.tick(21)) == ["Assigned"]


def _raw(r: Router) -> dict[str, Any]:
    raw: dict[str, Any] = msgspec.msgpack.decode(r.snapshot())
    return raw


def test_a_snapshot_after_a_reconfigure_round_trips_without_lost_pools() -> None:
    # the offer's pool is one of the router's: the snapshot names it by index, and the
    # restored router decides as the running one does
    def build() -> Router:
        r = _offered()
        r.reconfigure(config(PLAIN), 2)
        r.submit(inq("i2"), 3)  # a new pool of the offer's key is made for it
        r.tick(3)
        return r

    r = build()
    assert "lost_pools" not in _raw(r)
    restored = Router.restore(r.snapshot())
    assert restored.snapshot() == r.snapshot() and _listed(restored, "i1")
    for x in (r, restored):
        x.update_agent(agent("a1", level=2), 4)
        x.accept("i1", 5)
    assert r.tick(5) == restored.tick(5)
    assert names(build().tick(5)) == []  # (nothing left pending at 3)


def test_an_inquiry_in_service_across_a_reconfigure_keeps_a_lost_pool() -> None:
    # in service, an inquiry's pool is read by nothing (hand it back or transfer it and
    # it takes one anew): it keeps the old one, which ``lost_pools`` carries to a restore
    r = _offered()
    r.accept("i1", 1.5)
    r.login(agent("a2", level=2), 1.5)
    r.submit(inq("i2"), 1.5)
    r.tick(1.5)
    r.reconfigure(config(PLAIN), 2)
    r.tick(2)
    assert r.inquiry_state("i2") == "offered" and _listed(r, "i2") and not _listed(r, "i1")
    raw = _raw(r)
    assert [iid for iid, _ in raw["lost_pools"]] == ["i1"]
    assert Router.restore(r.snapshot()).snapshot() == r.snapshot()


def test_an_old_snapshot_with_an_offer_in_a_lost_pool_restores_as_written() -> None:
    # snapshots written before rp41 carry an offer held across a reconfigure in
    # ``lost_pools``: it restores as it was held (a pool of its own, outside the router's)
    # and is written back so; the offer can still be answered
    r = _offered()
    r.reconfigure(config(PLAIN), 2)
    r.tick(2)
    raw = _raw(r)
    assert "lost_pools" not in raw
    key = r._tickets["i1"].pool.key
    raw["lost_pools"] = [["i1", [key[0], key[1], [list(s) for s in key[2]], *key[3:5], []]]]
    old = msgspec.msgpack.encode(raw)
    restored = Router.restore(old)
    assert not _listed(restored, "i1") and restored.inquiry_state("i1") == "offered"
    again = restored.snapshot()
    assert _raw(restored)["lost_pools"] == raw["lost_pools"]
    assert Router.restore(again).snapshot() == again
    restored.accept("i1", 3)
    assert names(restored.tick(3)) == ["Assigned"]
