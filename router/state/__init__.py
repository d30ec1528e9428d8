"""The core's state layer: records, scoring, expected wait, Erlang maths, snapshot codec.

Plain data and pure functions the core state machine (``router/core.py``) and
the policies (``router/policies/``) share. Nothing here imports a policy or the
core.
"""
