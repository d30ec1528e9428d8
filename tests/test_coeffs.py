"""The scorer's native copy of a queue's weights (``router/state/records.py``, ``Coeffs``):
shared by the queues that share one ``Weights``, and never stale after a reconfigure."""

from __future__ import annotations

import msgspec

from router import AgentSpec, Inquiry, Router
from router.config import Weights
from router.events import Offered
from router.state.records import Coeffs
from tests.helpers import BASIC, config


def test_coeffs_hold_the_weights_as_floats() -> None:
    c = Coeffs(Weights(proficiency=2.0, idle_time=1, load=0.5))  # an int as a caller may pass
    assert (c.proficiency, c.idle_time, c.load) == (2.0, 1.0, 0.5)
    assert type(c.idle_time) is float


def test_a_queue_with_weights_of_its_own_has_its_own_coeffs() -> None:
    cfg = config(BASIC)
    own = Weights(proficiency=3.0)
    queues = [q if q.name != "vip" else msgspec.structs.replace(q, weights=own) for q in cfg.queues]
    r = Router(msgspec.structs.replace(cfg, queues=queues))
    assert r._queues["vip"].coeffs is not r._queues["refund"].coeffs
    assert r._queues["vip"].coeffs.proficiency == 3.0


def test_queues_sharing_the_routing_weights_share_coeffs() -> None:
    r = Router(config(BASIC))
    coeffs = {name: q.coeffs for name, q in r._queues.items()}
    assert coeffs["refund"] is coeffs["chat"] is coeffs["vip"]


def test_reconfigure_with_the_same_struct_changed_in_place_uses_the_new_weights() -> None:
    """Decisions follow the weights a reconfigure passes, even when the caller changed the
    struct it passed before in place (the core reads the struct at every configure)."""
    cfg = config(BASIC, weights=Weights(proficiency=10.0, idle_time=0.0, load=0.0))
    r = Router(cfg)
    r.login(AgentSpec(id="low", skills={"refund": 1}, capacity={"voice": 1}), 0.0)
    r.login(AgentSpec(id="high", skills={"refund": 5}, capacity={"voice": 1}), 1.0)
    r.submit(Inquiry(id="i1", queue="refund"), 2.0)
    first = [e for e in r.tick(2.0) if isinstance(e, Offered)]
    assert [e.agent_id for e in first] == ["high"]  # proficiency decides
    r.withdraw("i1", 3.0)
    r.tick(3.0)
    w = cfg.routing.weights
    w.proficiency = 0.0
    w.idle_time = 10.0  # now the longest idle ("low", ready since 0) wins
    r.reconfigure(cfg, 4.0)
    r.submit(Inquiry(id="i2", queue="refund"), 5.0)
    second = [e for e in r.tick(5.0) if isinstance(e, Offered)]
    assert [e.agent_id for e in second] == ["low"]
