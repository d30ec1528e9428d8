"""Every event the core emits is documented in docs/events.md, with every field (fix50).

The shared contract (``../shared/spec/scenario.md``) names no event; drain49's
``AgentDraining`` and decline48's ``DeclinesForgotten`` were documented nowhere but in
prose. The event classes are the members of ``router.events.Event``; a class is documented
when a table row starts with its name in backticks, and each field (``at`` and ``version``,
every event's, aside) is named in backticks in that row.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from router import events

DOC = Path(__file__).resolve().parent.parent / "docs" / "events.md"
EVENTS = typing.get_args(events.Event)


def rows() -> dict[str, str]:
    out = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"\| `([A-Za-z]+)` \|", line)
        if m:
            out[m.group(1)] = line
    return out


def test_the_union_is_every_event_class_of_the_module() -> None:
    # an event class left out of the union would be left out of the check too
    classes = {
        c
        for c in vars(events).values()
        if isinstance(c, type) and issubclass(c, events._Ev) and c is not events._Ev
    }
    assert classes == set(EVENTS)
    assert {"AgentDraining", "DeclinesForgotten", "Reconfigured"} <= {c.__name__ for c in EVENTS}


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.__name__)
def test_every_event_and_its_fields_are_documented(cls: type) -> None:
    row = rows().get(cls.__name__)
    assert row is not None, f"{cls.__name__}: no row in docs/events.md"
    fields = [f for f in cls.__struct_fields__ if f not in ("at", "version")]
    missing = [f for f in fields if f"`{f}`" not in row]
    assert missing == [], f"{cls.__name__}: fields not in its row: {missing}"


def test_the_doc_names_no_event_that_is_not_one() -> None:
    assert set(rows()) == {c.__name__ for c in EVENTS}


def test_every_requeued_reason_the_core_gives_is_documented() -> None:
    """``Requeued.reason``: the core's literal reasons (a requeue, an offer taken back as its
    agent stops taking work) are each named in the row, so an embedder can tell them apart
    (user51: the row named none)."""
    core = (DOC.parent.parent / "router" / "core.py").read_text()
    calls = r"(?:_requeue|_take_back_quietly|_stop_new_work|_take_back)\([^()]*?\"([a-z_]+)\""
    reasons = set(re.findall(calls, core))
    assert {"declined", "offer_expired", "handed_back", "logout", "wellbeing"} <= reasons
    row = rows()["Requeued"]
    assert sorted(r for r in reasons if f"`{r}`" not in row) == []
