"""The answers' ``gap`` and ``last`` on the estimator's per-queue records (e2e39).

They were two str-keyed dicts on the estimator; they are fields of each queue's record
now (one lookup per answer), the snapshot's wire format unchanged (``gaps`` and
``lasts``, two dicts): an old snapshot restores to the same estimates, and the records
stay in step with the queues through reconfigures and restores.
"""

from __future__ import annotations

import base64
import random
import zlib

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router, decode_config, encode_events
from router.state.estimate import WaitEstimator

TOML = """
[routing]
mode = "immediate"
[[queues]]
name = "q"
requires = { x = 1 }
[[queues]]
name = "r"
requires = { x = 1 }
"""

#: ``Router.snapshot()`` written by main's code at ``9e7de23`` (the dicts on the estimator),
#: zlib-compressed: 60 arrivals at ``q`` (3 agents, immediate mode), then ``last["r"] = 7.0``
#: set by hand, an answer's time at a queue without a record. ``OLD_BEFORE``/``OLD_AFTER``:
#: what main's code restored from it, before and after ``_traffic(r, T, 30, 2, LIVE)``.
OLD_SNAPSHOT = (
    "eNqtmHtwFEUex2cXg4RHGa/IqYlQehKDnGgeQERFh5LzuBQnkBgE4VxnZ3o3zc7O7E7P5oFRNibgVZ1am4UBdCnu"
    "AtlHAPEEKR9l3W1F/5CalKXlA0WOkrvTuuPuD7QstcoS7dnfbM+aR1Wmiv0j+fZvfvvp36+7f93bc46rygRULSzo"
    "3oyoKgEc3JHV1JiOlWBfthPhYLtO4kNhVULDOBxGEhZ0lBZlVQzFM9EYiiGSPMd5hxQhjAajOQ1FY1hDpHewy8PM"
    "2s/Mw51Ilv2I8uNH/YIYilA7iWnoqayEAjIS9XhOFKgHfRTPqR1IC8hqZzwt0gjk+FFdDSHF54+JIUQdaZx+NaZI"
    "8RwiOqY5oPhhogs6pi2R9GY7sSKpnWSXyWt5zvqY/NM32GI/iCztgWBV8RxS1E6T36C+MSu5uPoQQdHR/jSNK4hG"
    "ciLtQ6du57iqYRLzh7GuI+nunCAVlYa20sCRxA3bOViyE+vtkiZ0Ktyw4BdoIAq1ZtRAgJK4nIREGVuWLOqK0LGR"
    "uJxACA5SU+2wqIYjMqKUBRQoYis+Upv1W6NOHYdIO/17uDg2Vl/FESPcq0XpE2hs4YhOfAEBy1bXhWwI94IukBDx"
    "FbvNxiKSYAV8RNcEhdDoLOuRdhoxknwWiTsmBJFCQUXPDJ1/Qv+/gK1h0WIR3QqQe8maSqSIyEfnAtG5IdxQUIjQ"
    "WY+afPniS825z19MywLRyZOWpe3X/+znPnxzUDP56wtTwRUX1O5JVtTInhmpu2trqecCk39MXV32xqLlJi8/433i"
    "s1s/MLniZ1+SS82cMYOqMmY07/1i1d9WH3pnoeOW9KTmlJdTMd3kq5uff2DRcY/J31jZkNx/xfMlXt5UxezZVJSb"
    "/OoXL0n9C7DJrx0d+vKeU6tKvKalKisqqJhj8ht73k/FTktUPH78TJO/osTritS8ykoqfmHy/reOqT2fbTL5R/ff"
    "9tD1e/wlXmWpmuuuo+KXJo9X3r78xs/XmLyo39Vz/+xnS7ymp26dP5+Karq4r7mwpe6bm0w++Mlv/9ted6bE68pU"
    "U00NFb8y+e7GWfte/m6uyW+Nh57b/P1vHK9UcZC4SYWjpuJ8gA5+WRVr7p5kKxjZ837eBTVx+ePkfvZJR1RVJgPG"
    "YDQ/kLTikzKw8ned5eb1HcTSQaEuQ0JYlgvh030qIohY7+5Nd6hYRB7PX4qKu/nmHrqaWl+uC314rMkR40JITBA5"
    "Z26/aKsR88eLY22MFn/O+cpsk2959Kob9EsjloMtJ+huIE3qFzcuY/nUTzmf7V6Tf9Azy3hmW7cjLk8+Nm1sPh+d"
    "uHip3SjkA3LSfJpYPg1Tzme0dxrbgxxxeRKyaWMSav3Xyv+v+WptYQZBTprQHVl6gNEjjpzlrj3LVcGkDUbpN39/"
    "InfLV6deZ+LBfH5Eyk/zOo84ukrz3PjFN5LPs27yRWhTAbq2fOO6XWtOM9FmQU1+U//Rhb/LyAW4/YTC6/Pc+JUw"
    "IfyOAnzdK+tW1J6/k4mNTsS2hUIb8tz42ZgQuhygr1V/cqrlGiYeLkA9HucRl89PUPITIZfUAfJs658vzNzExGYY"
    "hIehBWjQLtD1BfT6Vf+Wvth9kolHAL0ZWgW0/cQFugHQG6Nth4IaE4KNhhagQbtANwJanou3Jt9jQrLR0AI0aBfo"
    "JYAeaC47nDGYCNhoaAEatAv0UkAfWD5n5RmVCWyjoQVo0C7QUHvrP95eFmvKMSE7i862uEBC5a3/9uinr/3QwIRS"
    "ggSLCyTUW0vjl+fLBucwoTpI2+ICCdXWgr++EH9oMRPREiRYpo5cCtXW0mO0PhCYz4QG07QFWoAG7QIN1dayd9H3"
    "TTt/ZCJmo6EFaNAu0FBtrdNf+nj+6ZlMdAH6D9AqoO0nLtBQbWO36202GlqABu0CDdXWeqbseHbnSiYed6bPtrhA"
    "QpWN3f+fcJC2xQUSqmvs7j8ad5i2yQUTyqut+T81t837HxOjT5YwweSCCfW1oXJoGelZz8Ron8O0TS6YUGD2tZOJ"
    "0f4SJpimwKSXRUGybpUkZbDTe4MXDvo2g51lW7xw7G022BnkA1P9IwY7O/xgahAMtucjMDVKBturg2BaEjDYHrsV"
    "TEuxweqZeKH0NYPVYQeY6mMGq59uMDV0GWzdPwamxm3ZCFIkrAQT6YCGkJTIoA7rl3kijbrovfWPzg04MWy/C1A1"
    "evHc5wwZv7DmJFfVfdzk5x74aNl9fXsHkvRa+E3PX7vfG1hk6eJI7zb5FTuisfJaa6Poqnj94NMrTP6ev197k3H1"
    "LbRiFLLz/LvT2Zrca/JrvH3/qI4RZxrvfeftpuY/vZsw+RmTXkKKvxvZS4z+jCDquAMlnGlMDLUjWYoPKTTjZMlX"
    "IqqMRYxIvPAqIA/vKXrTBNPLdz5n3b41ev2PZwqKJDJ+DQl0ZHLw3xfiDls3HZ8fKxIZSBwpNAKyqmpkgAV4RLPe"
    "WYR9IdRNR9l6kUG4E87LFZ9119dpL+wLJ8c91GmIiZ8AmUI6uw=="
)
OLD_T = 89.74585236811656
OLD_LIVE = ["s1-36", "s1-37", "s1-38"]
OLD_BEFORE = {
    "gap": {"q": 3.147457679061254},
    "ewt": [3.147457679061254, 9.442373037183762, 31.47457679061254, 125.89830716245017],
    "rate": 0.31771674219881973,
    "version_r": 0,
}
OLD_AFTER = {
    "gap": {"q": 3.720581164896042},
    "ewt": [3.720581164896042, 10.922507816390507, 33.93764972469729, 107.35789856042949],
    "rate": 0.2687752143227176,
    "version_r": 0,
}


def _traffic(
    r: Router, t: float, n: int, seed: int, live: list[str], queues: tuple[str, ...] = ("q",)
) -> tuple[float, list[str], bytes]:
    """``n`` seeded arrivals, a completion after about half of them; the events."""
    rng = random.Random(seed)
    live = list(live)
    out = []
    for k in range(n):
        t += rng.expovariate(0.6)
        q = queues[0] if len(queues) == 1 else rng.choice(queues)
        r.submit(Inquiry(id=f"s{seed}-{k}", queue=q, patience_s=rng.choice([None, 40.0])), now=t)
        events = r.tick(t)
        if live and rng.random() < 0.55:
            r.complete(live.pop(0), now=t)
            events += r.tick(t)
        live += [e.inquiry_id for e in events if type(e).__name__ == "Assigned"]
        out += events
    return t, live, encode_events(out)


def _figures(est: WaitEstimator) -> dict[str, object]:
    return {
        "gap": dict(est.gap),
        "ewt": [est.expected_wait("q", k) for k in (1, 3, 10, 40)],
        "rate": est.rate("q"),
        "version_r": est.version("r"),
    }


def test_an_old_snapshot_restores_to_the_same_estimates() -> None:
    snap = zlib.decompress(base64.b64decode(OLD_SNAPSHOT))
    r = Router.restore(snap)
    est = r._estimator
    assert _figures(est) == OLD_BEFORE
    gaps, lasts = est.answers()
    assert gaps == OLD_BEFORE["gap"] and lasts["r"] == 7.0 and "r" not in est.rates
    assert lasts["q"] == est.rates["q"].last
    # written back the same: the wire format is unchanged. Decoded, not byte for byte: a
    # struct of more than 15 fields is written with a 3-byte map header even when its
    # defaults are all left out (msgspec's choice; `wellbeing` has 16 since
    # max_drain_share_by_team), which every MessagePack reader reads as the same empty map
    again = r.snapshot()
    assert msgspec.msgpack.decode(again) == msgspec.msgpack.decode(snap)
    assert Router.restore(again).snapshot() == again  # and stable from there on
    _traffic(r, OLD_T, 30, 2, OLD_LIVE)
    assert _figures(est) == OLD_AFTER


def test_an_answer_that_measures_nothing_makes_no_record() -> None:
    """A callback answered at once, the queue's first observation: its time is kept (the
    next answer at the same instant is the same observation) but no record is made, so
    the first staffing seen is not taken as a change (``restaff``)."""
    est = WaitEstimator(alpha=0.5)
    est.on_answer("q", 10.0, 10.0, live=False)
    assert est.version("q") == 0 and "q" not in est.rates
    assert est.answers() == ({}, {"q": 10.0})
    est.restaff("q", 2.0, 10.0)  # no record: nothing to rescale, nothing noted
    est.on_answer("q", 10.0, 4.0, live=False)  # the same instant: one observation
    assert "q" not in est.rates and est.answers() == ({}, {"q": 10.0})
    est.on_arrival("q", 0, 11.0)  # the record made takes the answer's time
    assert est.rates["q"].last == 10.0 and est.answers() == ({}, {"q": 10.0})
    est.restaff("q", 4.0, 11.0)  # the first staffing seen: not a change from 2
    est.on_answer("q", 20.0, 12.0, live=False)  # backlogged since 12: a gap of 8 s...
    assert est.gap["q"] == 8.0  # ...measured: no transient after the first staffing seen
    restored = WaitEstimator(alpha=0.5)
    restored.load_extra_state(est.extra_state())
    restored.load_answers(*est.answers())
    assert restored.answers() == est.answers() == ({"q": 8.0}, {"q": 20.0})


def test_the_gap_view_is_read_only_and_reads_the_records() -> None:
    est = WaitEstimator(alpha=0.5)
    est.on_answer("q", 10.0, 10.0)
    assert "q" not in est.gap and est.gap.get("q") is None and len(est.gap) == 0
    with pytest.raises(KeyError):
        est.gap["q"]
    est.on_answer("q", 16.0, 12.0)
    assert "q" in est.gap and est.gap["q"] == est.gap.get("q") == 4.0
    assert dict(est.gap) == {"q": 4.0} and list(est.gap) == ["q"] and 1 not in est.gap
    with pytest.raises(TypeError):
        est.gap["q"] = 1.0  # type: ignore[index]


def test_gaps_and_lasts_follow_the_queues_through_reconfigures_and_restores() -> None:
    """``r`` removed (its line handed over to a new ``s``), then added back: the restored
    router keeps every queue's gap and last and decides as the original does."""
    cfg = decode_config(TOML.encode())
    moved = decode_config(TOML.replace('"r"', '"s"').encode())
    both = decode_config((TOML + '[[queues]]\nname = "s"\nrequires = { x = 1 }\n').encode())
    a = Router(cfg)
    for i in range(3):
        a.login(AgentSpec(id=f"a{i}", skills={"x": 1}, capacity={"voice": 1}), now=0.0)
    t, live, _ = _traffic(a, 0.0, 50, 1, [], ("q", "r"))
    a.reconfigure(moved, t, hand_over={"r": "s"})
    t, live, _ = _traffic(a, t, 40, 2, live, ("q", "s"))
    est = a._estimator
    assert set(est.answers()[0]) == {"q", "r", "s"}  # r's measurements outlive the queue
    b = Router.restore(a.snapshot())
    assert b._estimator.answers() == est.answers()
    for q in ("q", "r", "s"):
        assert b._estimator.expected_wait(q, 5) == est.expected_wait(q, 5)
    ta, la, ea = _traffic(a, t, 40, 3, live, ("q", "s"))
    tb, lb, eb = _traffic(b, t, 40, 3, live, ("q", "s"))
    assert ea == eb and len(ea) > 1000
    a.reconfigure(both, ta)
    b.reconfigure(both, tb)
    _, _, ea = _traffic(a, ta, 40, 4, la, ("q", "r", "s"))
    _, _, eb = _traffic(b, tb, 40, 4, lb, ("q", "r", "s"))
    assert ea == eb
    assert a.snapshot() == b.snapshot()
    assert b._estimator.answers() == est.answers()
