"""Router configuration: the operators' file, validated at the edge.

The schema (``schema.py``), the all-problems walker (``problems.py``), the
semantic checks (``checks.py``) and loading (``loading.py``). Every problem is
one ``path: message`` line; loading raises :class:`~router.errors.ConfigError`
carrying them all. This package imports nothing above it: no policy, no core.
"""

from router.config.checks import (
    backpressure_problems,
    config_problems,
    policy_names,
    semantic_problems,
)
from router.config.loading import (
    convert_config,
    decode_config,
    detect_format,
    load_config,
    parse_text,
    read_config_file,
)
from router.config.problems import format_validation_error, key_path, structure_problems
from router.config.profiles import profile_agent
from router.config.schema import (
    DEFAULT_CHANNELS,
    FEATURES,
    POLICY_NAMES,
    AgentProfile,
    Backpressure,
    BucketLimit,
    CallbackPolicy,
    Channel,
    CodelPolicy,
    DeflectPolicy,
    EstimateConfig,
    Level,
    Name,
    OutboundConfig,
    OverflowPolicy,
    OverflowRule,
    PositiveSeconds,
    QueueConfig,
    RouterConfig,
    Routing,
    Seconds,
    Skills,
    Step,
    SurgeConfig,
    TokenBucketPolicy,
    Weight,
    Weights,
    Wellbeing,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "FEATURES",
    "POLICY_NAMES",
    "AgentProfile",
    "Backpressure",
    "BucketLimit",
    "CallbackPolicy",
    "Channel",
    "CodelPolicy",
    "DeflectPolicy",
    "EstimateConfig",
    "Level",
    "Name",
    "OutboundConfig",
    "OverflowPolicy",
    "OverflowRule",
    "PositiveSeconds",
    "QueueConfig",
    "RouterConfig",
    "Routing",
    "Seconds",
    "Skills",
    "Step",
    "SurgeConfig",
    "TokenBucketPolicy",
    "Weight",
    "Weights",
    "Wellbeing",
    "backpressure_problems",
    "config_problems",
    "convert_config",
    "decode_config",
    "detect_format",
    "format_validation_error",
    "key_path",
    "load_config",
    "parse_text",
    "policy_names",
    "profile_agent",
    "read_config_file",
    "semantic_problems",
    "structure_problems",
]
