"""Interruptible capacity: which channels may take an agent past its capacity units.

Theory of operation
-------------------
An agent with a ``units`` budget holds inquiries that each cost their channel's
``unit_cost``; a new one fits only while the sum stays within the budget (the
core's capacity check). ``[channels.voice] interrupts = { chat = 3 }`` relaxes
that for one pair of channels, as Genesys Cloud's "interrupted by" and
Salesforce Omni-Channel's interruptible work do: a voice inquiry may take an
agent who holds at most 3 chats even though the chats' units leave no room for
it. The chats keep running; the units of interruptible work do not count
against the interrupting inquiry (the rest of the agent's work still does), so
the agent ends up above its budget until the work drains, and takes no new
work of any channel that does not fit meanwhile. The per-channel caps
(``capacity``) are never relaxed.

The core asks :meth:`Interrupts.allows` only when the ordinary check failed,
so agents without ``units`` and configs without ``interrupts`` pay nothing.
It keeps ``Agent.units_by`` (units held per channel) for this.
"""

from __future__ import annotations

from router.config import Channel
from router.state.records import Agent

__all__ = ["Interrupts"]


class Interrupts:
    """The ``interrupts`` rules of one config version: channel -> {channel: most held}."""

    __slots__ = ("rules",)

    def __init__(self, channels: dict[str, Channel]) -> None:
        self.rules: dict[str, dict[str, int]] = {
            name: dict(ch.interrupts) for name, ch in channels.items() if ch.interrupts
        }

    def allows(self, agent: Agent, channel: str, cost: int) -> bool:
        """Whether ``agent`` may take an inquiry of ``channel`` costing ``cost`` units by
        interrupting its work of other channels (called when the units do not fit)."""
        rule = self.rules.get(channel)
        if rule is None or agent.units is None:
            return False
        load = agent.load
        by = agent.units_by
        held = 0
        for ch, most in rule.items():
            if load.get(ch, 0) > most:
                return False
            held += by.get(ch, 0)
        return held > 0 and agent.units_used - held + cost <= agent.units

    def held(self, agent: Agent, channel: str) -> dict[str, int]:
        """The interruptible inquiries ``agent`` holds, per channel (for the explanation)."""
        load = agent.load
        return {ch: load[ch] for ch in self.rules.get(channel, {}) if load.get(ch, 0)}
