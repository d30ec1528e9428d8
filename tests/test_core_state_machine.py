"""Hypothesis state machines over the core: the base's rules and checks on several configs.

``tests/machine_base.py`` holds every rule and check (safety after every step,
liveness after every tick, decisions checked at the relaxation step in force).
Here: the wellbeing/tenant/relaxation config, one machine per backpressure
policy, one with the whole chain plus surge mode and outbound tasks, and one with
break staffing, cooldowns, schedules of shifts and outbound deadlines.
"""

from __future__ import annotations

import re

from hypothesis import strategies as st
from hypothesis.stateful import initialize

from router import RouterConfig, decode_config
from tests.machine_base import RouterMachine, machine_tests

CORE = """
[routing]
mode = "offer"
offer_timeout_s = 15
max_no_answer = 2
weights = { proficiency = 1.0, idle_time = 1.0, load = 1.0, recent_work = 1.0, heavy_streak = 1.0 }
[wellbeing]
max_consecutive_heavy = 2
heavy_recovery_s = 20
max_continuous_work_s = 300
break_s = 40
[[queues]]
name = "voice_a"
tenant = "a"
requires = { refund = 2 }
steps = [{ after_s = 30, requires = { refund = 1 } }]
[[queues]]
name = "voice_b"
tenant = "b"
requires = { refund = 1 }
[[queues]]
name = "chat_any"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "complaints"
heavy = true
requires = { complaint = 3 }
priority = 1
steps = [
  { after_s = 20, requires = { complaint = 2 } },
  { after_s = 60, requires = { complaint = 1 } },
]
"""


class CoreMachine(RouterMachine):
    CONFIG = CORE


TestCoreMachine, TestCoreMachineRandomized = machine_tests(CoreMachine, fixed=100, randomized=10)


class ImmediateMachine(RouterMachine):
    """Immediate mode: every decision is an ``Assigned``."""

    def config(self) -> RouterConfig:
        return decode_config(CORE.replace('mode = "offer"', 'mode = "immediate"'))


TestImmediateMachine, TestImmediateMachineRandomized = machine_tests(
    ImmediateMachine, fixed=30, randomized=5
)

# ---------------------------------------------------------------------- backpressure

QUEUES = """
[routing]
offer_timeout_s = 10
max_no_answer = 3
[[queues]]
name = "sales"
requires = { sales = 2 }
steps = [{ after_s = 25, requires = { sales = 1 } }]
[[queues]]
name = "second"
requires = { sales = 1 }
[[queues]]
name = "vip"
requires = { sales = 1 }
priority = 3
[[queues]]
name = "chat"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "outbound"
requires = { sales = 1 }
"""

POLICY = {
    "reject_when_full": "policy = 'reject_when_full'\nmax_queue = 3",
    "shed_lowest_priority": "policy = 'shed_lowest_priority'\nmax_queue = 3",
    "block": "policy = 'block'\nmax_queue = 3",
    "deflect": "policy = 'deflect'\ndeflect = { max_wait_s = 20 }",
    "callback": (
        "policy = 'callback'\ncallback = { min_wait_s = 20, retry_s = 15, max_attempts = 2 }"
    ),
    "overflow": (
        "policy = 'overflow'\n"
        "overflow = { queues = { sales = { to = 'second', after_s = 20, max_queue = 2 } } }"
    ),
    "codel": "policy = 'codel'\ncodel = { target_s = 10, interval_s = 20 }",
    "token_bucket": "policy = 'token_bucket'\ntoken_bucket = { rate_per_s = 0.2, burst = 2 }",
}

CHAIN = """
policy = ["overflow", "token_bucket", "codel", "shed_lowest_priority", "deflect", "callback",
          "reject_when_full"]
max_queue = 4
overflow = { queues = { sales = { to = "second", after_s = 20, max_queue = 2 } } }
token_bucket = { rate_per_s = 0.5, burst = 4 }
codel = { target_s = 30, interval_s = 40 }
deflect = { max_wait_s = 900 }
callback = { min_wait_s = 60, retry_s = 15, max_attempts = 2 }
outbound = { queues = ["outbound"], reserve_idle = 0 }
[backpressure.surge]
enter_waiting = 2
enter_after_s = 1
exit_after_s = 10
caps = { chat = 3 }
wrap_up_s = 1
relax_steps = true
callbacks = true
"""


def _policy_machine(name: str, backpressure: str) -> type[RouterMachine]:
    toml = QUEUES + "[backpressure]\n" + backpressure + "\n"
    return type(f"Policy_{name}", (RouterMachine,), {"CONFIG": toml, "STEPS": 40})


#: one machine per policy, by policy name
POLICY_MACHINES = {name: _policy_machine(name, bp) for name, bp in POLICY.items()}
for _name, _machine in POLICY_MACHINES.items():
    _fixed, _random = machine_tests(_machine, fixed=25, randomized=3)
    globals()[f"TestPolicy_{_name}"] = _fixed
    globals()[f"TestPolicy_{_name}_Randomized"] = _random
del _name, _machine, _fixed, _random


class ChainMachine(RouterMachine):
    """Every policy in one chain, surge mode with its whole bundle, outbound tasks."""

    CONFIG = QUEUES + "[backpressure]\n" + CHAIN


TestChainMachine, TestChainMachineRandomized = machine_tests(ChainMachine, fixed=60, randomized=5)


# ---------------------------------------------------------------------- issue 13 features

STAFFING = (
    CORE.replace("max_continuous_work_s = 300", "max_continuous_work_s = 40")
    .replace("break_s = 40", "break_s = 30")
    .replace(
        "heavy_recovery_s = 20",
        "heavy_recovery_s = 20\nmax_break_share = 0.34\ncooldown_after_heavy_s = 10\n"
        'cooldown_s = 25\ncooldown_from = "heavy"',
    )
    + """
[[queues]]
name = "outbound"
requires = { refund = 1 }
priority = 2
[backpressure]
policy = ["callback", "reject_when_full"]
max_queue = 4
max_callbacks = 2
priority_reserve = 0.5
callback = { min_wait_s = 30, retry_s = 15, max_attempts = 2 }
outbound = { queues = ["outbound"], reserve_idle = 0, deadline_s = { outbound = 30 } }
"""
)


class StaffingMachine(RouterMachine):
    """Break staffing (a third of each team at most), cooldowns off heavy work after long
    heavy calls, agents with teams and schedules of shifts (two companies), outbound tasks
    with deadlines, callbacks bounded apart from callers with a priority reserve."""

    CONFIG = STAFFING
    SCHEDULES = True
    STEPS = 60


TestStaffingMachine, TestStaffingMachineRandomized = machine_tests(
    StaffingMachine, fixed=60, randomized=5
)


# ---------------------------------------------------------------------- routing features

FEATURES = """
[routing]
mode = "offer"
offer_timeout_s = 15
max_no_answer = 3
seed = 16
[[queues]]
name = "lang"
channel = "chat"
requires = { chat = 1 }
match = "inquiry.lang in langs"
distribution = "least_occupied"
preferred_wait_s = 30
[[queues]]
name = "vip"
tenant = "a"
requires = { refund = 1 }
match = "vip and level >= inquiry.tier"
distribution = "best_skill"
[[queues]]
name = "ring"
requires = { refund = 1 }
max_offers = 3
distribution = "round_robin"
preferred_wait_s = 20
[[queues]]
name = "chat_ring"
channel = "chat"
requires = { chat = 1 }
max_offers = 2
distribution = "random"
[[queues]]
name = "idle"
requires = { refund = 2 }
steps = [{ after_s = 30, requires = { refund = 1 } }]
distribution = "longest_idle"
preferred_wait_s = 45
[[queues]]
name = "scored"
requires = { refund = 1 }
"""


class FeaturesMachine(RouterMachine):
    """Issue 16 items 1-3: ``match`` expressions and ``set_attributes``, preferred agents,
    every distribution mode, multi-offer (accept, decline, expiry), beside the base's rules."""

    CONFIG = FEATURES

    @initialize(data=st.data(), n=st.integers(3, 6))
    def staff(self, data: st.DataObject, n: int) -> None:
        """More agents than the base: inquiries wait for a preferred one while others idle."""
        for _ in range(n):
            self.login(data)


TestFeaturesMachine, TestFeaturesMachineRandomized = machine_tests(
    FeaturesMachine, fixed=80, randomized=8
)


class ImmediateFeaturesMachine(RouterMachine):
    """The same features in immediate mode (no rings: an assignment needs no offer)."""

    def config(self) -> RouterConfig:
        toml = FEATURES.replace('mode = "offer"', 'mode = "immediate"')
        return decode_config(re.sub(r"max_offers = \d+\n", "", toml))


TestImmediateFeaturesMachine, TestImmediateFeaturesMachineRandomized = machine_tests(
    ImmediateFeaturesMachine, fixed=25, randomized=4
)


# ---------------------------------------------------------------------- in-queue changes

QUEUE_CHANGES = """
[routing]
offer_timeout_s = 90           # an offer may outlast the console's silence
max_no_answer = 2
presence_timeout_s = 60
[channels.voice]
unit_cost = 80
interrupts = { chat = 1 }      # a call may interrupt one chat
[channels.chat]
max_concurrency = 20
unit_cost = 40
[[queues]]
name = "sales"
requires = { sales = 1 }
hours = [{ open = "00:00", close = "00:02" }, { open = "00:03", close = "24:00" }]
closed = "callback"
at_close = "closed"
[[queues]]
name = "support"
tenant = "a"
requires = { sales = 1 }
hours = [{ open = "00:00", close = "00:03" }, { open = "00:04", close = "24:00" }]
[[queues]]
name = "escalations"
requires = { sales = 2 }
steps = [{ after_s = 30, requires = { sales = 1 } }]
priority = 1
[[queues]]
name = "chat"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "chat_vip"
channel = "chat"
priority = 2
requires = { chat = 1 }
hours = [{ open = "00:00", close = "00:01" }, { open = "00:02", close = "24:00" }]
closed = "deflect"
at_close = "closed"
[backpressure]
callback = { retry_s = 20, max_attempts = 2 }
"""


class QueueChangesMachine(RouterMachine):
    """Hours of operation (each closed outcome, both closing rules), interruptible
    capacity (a call over one chat), presence timeouts, tenants and relaxation steps:
    the base's in-queue changes run against all of them."""

    CONFIG = QUEUE_CHANGES
    LEVELS = (0, 1, 2, 3, 4, 5, 5)
    ANSWERS = ("accept", "decline", "wait", "wait", "wait")  # consoles often silent
    DTS = (0.0, 1.0, 7.0, 16.0, 45.0, 60.0)
    UNITS = (None, 100, 100, 100, 200)


TestQueueChangesMachine, TestQueueChangesMachineRandomized = machine_tests(
    QueueChangesMachine, fixed=100, randomized=10
)

BLENDED = """
[routing]
offer_timeout_s = 90
[channels.voice]
unit_cost = 80
interrupts = { chat = 1 }      # a call may interrupt one chat
[channels.chat]
max_concurrency = 20
unit_cost = 40
[[queues]]
name = "calls"
requires = { sales = 1 }
[[queues]]
name = "retention"
requires = { sales = 2 }
priority = 1
[[queues]]
name = "chat"
channel = "chat"
requires = { chat = 1 }
[[queues]]
name = "chat_vip"
channel = "chat"
requires = { chat = 2 }
priority = 2
"""


class BlendedMachine(RouterMachine):
    """Blended voice and chat agents on capacity units with interruptible chats, offers
    that stay open a while: dense in the states in-queue changes act on."""

    CONFIG = BLENDED
    LEVELS = (0, 1, 2, 3, 4, 5)
    ANSWERS = ("accept", "accept", "decline", "wait", "wait", "wait", "wait", "wait")
    UNITS = (None, 100, 100, 200)


TestBlendedMachine, TestBlendedMachineRandomized = machine_tests(
    BlendedMachine, fixed=60, randomized=5
)


# ---------------------------------------------------------------- breaks brought forward

WINDOW = STAFFING.replace("max_break_share = 0.34", "max_break_share = 0.34\nbreak_window_s = 20")
DRAIN = WINDOW.replace("break_window_s = 20", "break_window_s = 20\ndrain_for_break = true")


class WindowMachine(StaffingMachine):
    """The staffing machine with a break window (break48): breaks brought forward into free
    places for agents that free up within 20 s of their due time."""

    CONFIG = WINDOW


TestWindowMachine, TestWindowMachineRandomized = machine_tests(
    WindowMachine, fixed=30, randomized=3
)


class DrainMachine(StaffingMachine):
    """The window with ``drain_for_break`` (drain49): agents holding work drain for an early
    break, counted in the share; none stuck (``no_agent_stuck_before_its_break``)."""

    CONFIG = DRAIN


TestDrainMachine, TestDrainMachineRandomized = machine_tests(DrainMachine, fixed=40, randomized=3)

DRAIN_SHARE = DRAIN.replace(
    "drain_for_break = true", "drain_for_break = true\nmax_drain_share = 0.34"
)


class DrainShareMachine(StaffingMachine):
    """The drain machine with ``max_drain_share`` (share50): drains hold no break place, a
    third of a team drains at most, a drain that ends without a place goes back to work
    deferred; the break share counts breaks only (``breaks_start_only_with_a_place``)."""

    CONFIG = DRAIN_SHARE


TestDrainShareMachine, TestDrainShareMachineRandomized = machine_tests(
    DrainShareMachine, fixed=40, randomized=3
)

TEAM_SHARE = DRAIN.replace(
    "drain_for_break = true", "drain_for_break = true\nmax_break_share_by_team = { t2 = 0.67 }"
)


class TeamShareDrainMachine(StaffingMachine):
    """The drain machine with team ``t2`` under a share of its own (meal51's
    ``max_break_share_by_team``: two thirds, the router's a third): ``t2`` may have more of
    its members on a break, router-wide and team ``t1`` keep a third
    (``breaks_start_only_with_a_place`` reads each team's share)."""

    CONFIG = TEAM_SHARE


TestTeamShareDrainMachine, TestTeamShareDrainMachineRandomized = machine_tests(
    TeamShareDrainMachine, fixed=40, randomized=3
)

TEAM_DRAIN_SHARE = DRAIN_SHARE.replace(
    "max_drain_share = 0.34",
    "max_drain_share = 0.34\nmax_drain_share_by_team = { t1 = 0.2, t2 = 0.67 }",
)


class TeamDrainShareMachine(StaffingMachine):
    """The drain-share machine with teams under drain shares of their own (drain52's
    ``max_drain_share_by_team``: ``t1`` a fifth, ``t2`` two thirds, the router's a third):
    ``t2`` may have more of its members draining, ``t1`` fewer, router-wide a third
    (``_drains_within_their_share`` reads each team's share)."""

    CONFIG = TEAM_DRAIN_SHARE


TestTeamDrainShareMachine, TestTeamDrainShareMachineRandomized = machine_tests(
    TeamDrainShareMachine, fixed=40, randomized=3
)
