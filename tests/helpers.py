"""Small builders shared by the core tests."""

from __future__ import annotations

from typing import Any

from router import AgentSpec, Inquiry, Router, decode_config
from router.config import RouterConfig


def config(toml: str = "", **routing: Any) -> RouterConfig:
    """A config from TOML text; ``routing`` keys override ``[routing]``."""
    cfg = decode_config(toml.encode())
    if routing:
        import msgspec

        cfg = msgspec.structs.replace(cfg, routing=msgspec.structs.replace(cfg.routing, **routing))
    return cfg


BASIC = """
[routing]
mode = "offer"
offer_timeout_s = 10
max_no_answer = 2
[[queues]]
name = "refund"
channel = "voice"
requires = { refund = 1 }
[[queues]]
name = "chat"
channel = "chat"
requires = { refund = 2 }
[[queues]]
name = "vip"
channel = "voice"
requires = { refund = 4 }
priority = 2
"""


def basic(**routing: Any) -> Router:
    return Router(config(BASIC, **routing))


def agent(id: str, level: int = 3, voice: int = 1, chat: int = 0, **kw: Any) -> AgentSpec:
    cap = {"voice": voice}
    if chat:
        cap["chat"] = chat
    return AgentSpec(id=id, skills={"refund": level}, capacity=cap, **kw)


def inq(id: str, queue: str = "refund", **kw: Any) -> Inquiry:
    return Inquiry(id=id, queue=queue, **kw)


def names(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def brief(events: list[Any]) -> list[tuple[Any, ...]]:
    """(EventName, inquiry_id or agent_id[, agent_id]) for compact assertions."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        row: tuple[Any, ...] = (type(e).__name__,)
        for f in ("inquiry_id", "agent_id"):
            v = getattr(e, f, None)
            if v is not None:
                row += (v,)
        out.append(row)
    return out
