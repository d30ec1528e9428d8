"""router: a high-throughput sans-I/O queue router core for contact centers.

Importing ``router`` loads neither asyncio nor trio; the adapters live in
``router.adapters`` and import their event loop lazily.
"""

from router._dist import dist_version
from router.config import (
    AgentProfile,
    QueueConfig,
    RouterConfig,
    Routing,
    Step,
    Weights,
    Wellbeing,
    decode_config,
    load_config,
)
from router.core import Router
from router.errors import (
    ConfigError,
    DuplicateId,
    ImpossibleRequirement,
    InvalidInput,
    InvalidState,
    RouterBroken,
    TimeWentBackwards,
    UnknownId,
    UsageError,
    WouldBlock,
)
from router.events import *  # noqa: F403
from router.events import __all__ as _event_names
from router.model import Admission, AgentSpec, Inquiry
from router.stats import QueueStatistics, RouterStatistics

__version__ = dist_version()

__all__ = [
    "Admission",
    "AgentProfile",
    "AgentSpec",
    "ConfigError",
    "DuplicateId",
    "ImpossibleRequirement",
    "Inquiry",
    "InvalidInput",
    "InvalidState",
    "QueueConfig",
    "QueueStatistics",
    "Router",
    "RouterBroken",
    "RouterConfig",
    "RouterStatistics",
    "Routing",
    "Step",
    "TimeWentBackwards",
    "UnknownId",
    "UsageError",
    "Weights",
    "Wellbeing",
    "WouldBlock",
    "decode_config",
    "load_config",
    *_event_names,
]
