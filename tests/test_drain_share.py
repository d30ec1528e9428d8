"""``wellbeing.max_drain_share``: drains under a share of their own (share50).

With ``drain_for_break`` alone a draining agent takes a place under ``max_break_share`` from
its notice. A draining agent still serves its work, so with ``max_drain_share`` it holds no
break place: at most that share of a team (and of all agents) drains at once, the break
share counts only breaks (and the notices of deferred breaks given a place). When the
drain's work ends the break starts if a place is free; if not the agent goes back to work,
its break deferred by its due time, and it goes first when a place opens. Small routers pin
each rule; no timed assertion.
"""

from __future__ import annotations

from typing import Any

import pytest

from router import ConfigError, Inquiry, Router
from router.config import config_warnings
from router.events import AgentReady, BreakDeferred
from router.sim import build_report, decode_scenario, simulate
from tests.helpers import config
from tests.sim_runs import example_text
from tests.test_drain_for_break import DRAIN, breaks, chats, drains, spec

# one break place among four (a quarter), two drain places (half); 30 s breaks after 80 s,
# the window opens 40 s before due
SHARE = DRAIN.replace("max_break_share = 0.5\n", "max_break_share = 0.25\n").replace(
    "drain_for_break = true\n", "drain_for_break = true\nmax_drain_share = 0.5\n"
)
NO_SHARE = SHARE.replace("max_drain_share = 0.5\n", "")


def readied(events: list[Any]) -> list[str]:
    return [e.agent_id for e in events if isinstance(e, AgentReady)]


def deferred(events: list[Any]) -> list[tuple[str, float]]:
    return [(e.agent_id, e.due) for e in events if isinstance(e, BreakDeferred)]


def counts(r: Router) -> tuple[int, int]:
    """(wellbeing breaks holding a break place: started, or a notice holding its place;
    drains under the drain share), from ``agent_statistics``: ``drain_place``."""
    on = dr = 0
    for aid in r.agent_ids():
        st = r.agent_statistics(aid)
        if st.reason != "wellbeing":
            continue
        assert not st.drain_place or st.draining
        if st.drain_place:
            dr += 1
        else:
            on += 1
    return on, dr


def four(text: str = SHARE) -> Router:
    """Su and Li due at 80, Pu at 85, Xu at 86, each holding one chat from login."""
    r = Router(config(text))
    for aid, t in (("su", 0.0), ("li", 0.0), ("pu", 5.0), ("xu", 6.0)):
        r.login(spec(aid), t)
        chats(r, aid, [aid + "1"], t)
    return r


# ---------------------------------------------------------------- the rules


def test_drains_take_no_break_place_and_keep_to_their_own_share() -> None:
    r = four()
    ev = r.tick(40)
    # two drain places, one break place: both due at 80 drain; neither holds the place
    assert drains(ev) == [("su", 80.0), ("li", 80.0)]
    assert counts(r) == (0, 2)
    # Pu's window opens at 45: both drain places are taken, she works on
    assert drains(r.tick(44)) == []
    # Su's chat ends at 45: her break starts (the place was free all along) and her drain
    # place goes to Pu, the one due next
    r.complete("su1", 45)
    ev = r.tick(45)
    assert breaks(ev) == [("su", 75.0), ("pu", None)] and drains(ev) == [("pu", 85.0)]
    assert counts(r) == (1, 2)


def test_without_the_drain_share_a_drain_holds_a_break_place_as_before() -> None:
    r = four(NO_SHARE)
    assert drains(r.tick(40)) == [("su", 80.0)]  # one place: one drain
    r.complete("su1", 45)
    assert breaks(r.tick(45)) == [("su", 75.0)]  # no one else until her break ends


def test_a_drain_that_ends_without_a_break_place_goes_back_to_work_first_in_line() -> None:
    r = four()
    r.tick(40)
    r.complete("su1", 45)
    r.tick(45)  # Su on a break until 75; Li and Pu drain
    # Li's chat ends at 50: no break place (Su's): back to work, her break deferred by its
    # due time (80, not yet due) so that she goes first; her drain place goes to Xu
    r.complete("li1", 50)
    ev = r.tick(50)
    assert readied(ev) == ["li"] and deferred(ev) == [("li", 80.0)]
    assert drains(ev) == [("xu", 86.0)] and breaks(ev) == [("xu", None)]
    assert not r.agent_statistics("li").draining
    chats(r, "li", ["li2"], 55)  # at work again: she takes a chat
    r.complete("pu1", 60)
    ev = r.tick(60)
    assert readied(ev) == ["pu"] and deferred(ev) == [("pu", 85.0)]
    # Su's break ends at 75: the place goes to Li (due 80), before Pu (85); Li holds a chat:
    # a deferred break given its place holds it from the notice (not a drain), so no one
    # else's break starts while she finishes it
    ev = r.tick(75)
    assert readied(ev) == ["su"] and breaks(ev) == [("li", None)] and drains(ev) == []
    assert counts(r)[0] == 1
    r.complete("xu1", 80)
    ev = r.tick(80)
    assert readied(ev) == ["xu"] and deferred(ev) == [("xu", 86.0)] and breaks(ev) == []
    r.complete("li2", 90)
    assert breaks(r.tick(90)) == [("li", 120.0)]
    ev = r.tick(120)  # Li back: Pu (due 85), idle since 60, goes at once
    assert readied(ev) == ["li"] and breaks(ev) == [("pu", 150.0)]


def test_never_above_either_share_tick_by_tick() -> None:
    r = four()
    ends = {45: "su1", 50: "li1", 60: "pu1", 70: "xu1"}
    seen_drains = 0
    for t in range(40, 200):
        if t in ends:
            r.complete(ends[t], float(t))
        ev = r.tick(float(t))
        seen_drains += len(drains(ev))
        on, dr = counts(r)
        assert on <= 1 and dr <= 2, (t, on, dr)
    assert seen_drains == 4
    # every break taken, none left waiting or draining
    assert all(r.agent_statistics(a).reason != "wellbeing" for a in r.agent_ids())


def test_the_deferral_bound_still_sends_a_drained_agent_above_the_share() -> None:
    text = SHARE.replace("break_window_s = 40\n", "break_window_s = 40\nmax_break_deferral_s = 5\n")
    for deferral, goes in ((text, 85.0), (SHARE, 88.0)):
        r = four(deferral)
        r.tick(40)
        r.complete("li1", 58)
        assert breaks(r.tick(58))[0] == ("li", 88.0)  # the place was free
        r.complete("su1", 60)
        ev = r.tick(60)  # no place until 88: Su back to work, deferred (due 80)
        assert readied(ev) == ["su"] and deferred(ev) == [("su", 80.0)]
        assert ("su", goes + 30.0) not in breaks(r.tick(goes - 1.0))
        # due at 80, deferral 5 s: at 85 she goes anyway, above the share (wellbeing
        # first); without a deferral bound she waits for Li's place (88)
        assert ("su", goes + 30.0) in breaks(r.tick(goes))


# ---------------------------------------------------------------- snapshots, reconfigure


def test_a_snapshot_keeps_the_drains_out_of_the_break_share() -> None:
    def script(r: Router) -> list[Any]:
        out: list[Any] = []
        for t, iid in ((45.0, "su1"), (50.0, "li1"), (60.0, "pu1"), (70.0, "xu1")):
            r.complete(iid, t)
            out += r.tick(t)
        out += r.tick(200)
        return [(type(e).__name__, e.at, getattr(e, "agent_id", None)) for e in out]

    a = four()
    a.tick(40)
    snap = a.snapshot()
    b = Router.restore(snap)
    assert counts(b) == (0, 2)  # both still drains, neither holding the break place
    assert script(b) == script(a)
    # restored, a third drain still has no place; a break still has one
    c = Router.restore(snap)
    assert drains(c.tick(44)) == []
    c.complete("su1", 44)
    assert breaks(c.tick(44))[0] == ("su", 74.0)


def test_a_reconfigure_that_keeps_the_drain_share_keeps_the_drains_apart() -> None:
    r = four()
    r.tick(40)
    # another setting changes (every agent is counted again): both still drain apart
    r.reconfigure(config(SHARE.replace("break_s = 30", "break_s = 31")), 41)
    r.tick(41)
    assert counts(r) == (0, 2)
    r.complete("su1", 45)
    assert breaks(r.tick(45)) == [("su", 76.0), ("pu", None)]


def test_a_reconfigure_that_drops_the_drain_share_counts_the_drains_on_a_break() -> None:
    r = four()
    r.tick(40)
    r.reconfigure(config(NO_SHARE), 41)
    r.tick(41)
    # both drain on (the switch is still on), now holding places: two of one allowed,
    # so when Su's chat ends her break waits for a place; Li's break takes the one left
    # when hers ends
    assert counts(r) == (2, 0)
    r.complete("su1", 45)
    ev = r.tick(45)
    assert readied(ev) == ["su"] and breaks(ev) == []
    r.complete("li1", 50)
    assert breaks(r.tick(50)) == [("li", 80.0)]


def test_a_reconfigure_that_sets_the_drain_share_leaves_a_held_place_and_adds_drains() -> None:
    r = four(NO_SHARE)
    assert drains(r.tick(40)) == [("su", 80.0)]  # holding the one place
    r.reconfigure(config(SHARE), 41)
    ev = r.tick(41)
    # Su keeps her place (her notice came under the old rule); Li drains beside her
    assert drains(ev) == [("li", 80.0)]
    assert counts(r) == (1, 1)
    r.complete("su1", 45)
    # her break starts; her place among the breaks was never a drain's: Pu drains at 45
    assert breaks(r.tick(45)) == [("su", 75.0), ("pu", None)]
    assert counts(r) == (1, 2)


# ---------------------------------------------------------------- config


def test_the_drain_share_is_validated_like_the_break_share() -> None:
    for bad in ("0", "1.5", "-0.2", '"half"'):
        with pytest.raises(ConfigError, match=r"wellbeing\.max_drain_share"):
            config(SHARE.replace("max_drain_share = 0.5", f"max_drain_share = {bad}"))
    assert config(SHARE).wellbeing.max_drain_share == 0.5
    assert config(NO_SHARE).wellbeing.max_drain_share is None


def test_the_drain_share_warns_when_it_does_nothing() -> None:
    assert config_warnings(config(SHARE)) == []
    for drop in (
        "drain_for_break = true\n",
        "break_window_s = 40\n",
        "max_break_share = 0.25\n",
        "max_continuous_work_s = 80\n",
    ):
        warned = [w for w in config_warnings(config(SHARE.replace(drop, ""))) if "drain_sh" in w]
        assert warned == [
            "$.wellbeing.max_drain_share: does nothing without drain_for_break "
            "(and its break_window_s, max_break_share, max_continuous_work_s): no agent drains"
        ], drop


# ---------------------------------------------------------------- a flood of chats


def test_mafengwo_with_drains_under_their_own_share() -> None:
    # the refund flood (examples/mafengwo_refund_flood.toml) with drain_for_break and a
    # quarter draining at most: more drain at once than the break places (a quarter of a
    # team on a break AND a quarter draining), none is offered anything while it drains,
    # every drain ends in its meal or back at work, the break share holds for breaks, and
    # 90% of the meals start by their due time. The latest still does not within the hour
    # (BENCHMARKS.md, share50; the xfail in tests/test_seed_stories.py)
    text = example_text("mafengwo_refund_flood.toml")
    text = text.replace(
        "break_window_s = 7200",
        "break_window_s = 7200\ndrain_for_break = true\nmax_drain_share = 0.25",
    )
    assert "max_drain_share = 0.25" in text
    draining_now: dict[str, float] = {}
    n = {"drains": 0, "offers_while_draining": 0, "back_to_work": 0, "most_away": 0}
    away: set[str] = set()

    def hook(e: Any) -> bool:
        name = type(e).__name__
        if name == "AgentDraining":
            n["drains"] += 1
            draining_now[e.agent_id] = e.due
        elif name in ("Offered", "Assigned") and e.agent_id in draining_now:
            n["offers_while_draining"] += 1
        elif name in ("AgentReady", "AgentAway", "AgentLoggedOut") or (
            name == "AgentOnBreak" and e.until is not None
        ):
            if name == "AgentReady" and e.agent_id in draining_now:
                n["back_to_work"] += 1  # its drain ended without a break place
            draining_now.pop(e.agent_id, None)
        if name == "AgentOnBreak" and e.reason == "wellbeing":
            away.add(e.agent_id)
        elif name in ("AgentReady", "AgentAway", "AgentLoggedOut"):
            away.discard(e.agent_id)
        chat = [a for a in away if a.startswith("chat_team")]
        n["most_away"] = max(n["most_away"], len(chat))
        return True

    rep = build_report(simulate(decode_scenario(text), on_event=hook))
    assert n["drains"] > 100 and n["offers_while_draining"] == 0 and n["back_to_work"] > 0
    assert draining_now == {}  # none left draining at the end (liveness)
    assert rep["breaks_missed"] == 0 and rep["on_break_max_fraction"] <= 0.25
    assert n["most_away"] > 4  # the chat team's four break places plus drains beside them
    assert rep["break_late_p90_s"] == 0.0
    assert rep["break_late_max_s"] > 3600.0  # the hour not met (the xfail's reason)


def test_an_agent_holding_only_an_offer_does_not_drain_past_the_break_share() -> None:
    # offers go back at a break's notice, so an agent holding only offers frees up at once:
    # its break needs a break place, not a drain place (the DrainShareMachine found it: two
    # agents, one place, the other on a break of its own; the break started above it)
    text = SHARE.replace('mode = "immediate"', 'mode = "offer"\noffer_timeout_s = 100')
    r = Router(config(text))
    r.login(spec("li"), 0)
    r.login(spec("su"), 0)
    r.go_on_break("li", 0)
    r.submit(Inquiry(id="c0", queue="c"), 0)
    r.tick(0)
    r.accept("c0", 0)  # her stretch from 0: due 80, her window opens at 40
    r.complete("c0", 38)
    r.submit(Inquiry(id="c1", queue="c"), 39)
    r.tick(39)
    assert r.agent_of("c1") == "su"  # offered (offer mode), not yet taken
    ev = r.tick(40)  # Su's window opens, holding only the offer: no place, no drain
    assert breaks(ev) == [] and drains(ev) == []
    assert r.agent_of("c1") == "su" and counts(r) == (0, 0)  # (Li: a break of her own)
    r.set_ready("li", 45)  # Li back (due first, 40): a place, never two breaks at once
    for t in range(45, 120):
        r.tick(float(t))
        assert counts(r)[0] <= 1, t
