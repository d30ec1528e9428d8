"""The backpressure policies' registry: the names a config may give ``$.backpressure.policy``.

Theory of operation
-------------------
:data:`POLICIES` maps a policy's name to its factory (a callable taking the
:class:`~router.config.RouterConfig`, returning an
:class:`~router.policies.admission.AdmissionPolicy`; the class itself will do).
``router/policies/admission.py`` puts the built-in policies in it when it is imported (their
names, :data:`~router.config.schema.POLICY_NAMES`, are known before that); an embedder adds
its own with :func:`register_policy` (re-exported as ``router.policies.register_policy``;
:func:`unregister_policy` forgets one again); an
installed distribution offers its own under the entry-point group ``router.policies``
(``name = "pkg.mod:factory"``), loaded by :func:`find_policy` the first time a config names a
policy nobody registered, so ``router check`` and ``simulate`` on the command line see a
plug-in installed in the venv (two distributions offering one name differently: refused,
naming both). The config checks (``backpressure_problems``) ask
:func:`is_known` for every name, so ``Router(...)``, ``reconfigure`` and ``router check``
refuse the same unknown names, naming the field, before anything changes.

It lives in the config's layer (the config checks read it; the policies' layer comes later,
docs/architecture.md), so it types a factory's product as ``Any``: ``build_policies`` checks
that it is an ``AdmissionPolicy`` of the name it was registered under.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

from router.config.schema import POLICY_NAMES

if TYPE_CHECKING:
    from router.config.schema import RouterConfig

__all__ = [
    "ENTRY_POINT_GROUP",
    "POLICIES",
    "PolicyFactory",
    "PolicyLoadError",
    "find_policy",
    "is_known",
    "known_policies",
    "register_policy",
    "unregister_policy",
]

#: the entry-point group of plug-in policies (``[project.entry-points."router.policies"]``)
ENTRY_POINT_GROUP = "router.policies"

#: ``factory(cfg)`` makes the policy (an ``AdmissionPolicy``)
PolicyFactory = Callable[["RouterConfig"], Any]

#: name -> factory: the built-in policies (once ``router.policies.admission`` is imported),
#: those registered, and the entry points loaded so far
POLICIES: dict[str, PolicyFactory] = {}


class PolicyLoadError(Exception):
    """An entry point of ``router.policies`` named in a config failed to load."""


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Make ``name`` a policy a config may name: ``factory(cfg)`` builds it.

    Raises ValueError if ``name`` is not an identifier or already names a policy (built in,
    registered, or an installed entry point's), TypeError if ``factory`` is not callable.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"register_policy: the policy name {name!r} is not an identifier")
    if not callable(factory):
        raise TypeError(f"register_policy: the factory of {name!r} is not callable: {factory!r}")
    if name in POLICIES or name in POLICY_NAMES:
        raise ValueError(f"register_policy: the policy name {name!r} is already taken")
    if name in _entry_points():
        raise ValueError(
            f"register_policy: the policy name {name!r} is already taken "
            f"(entry point {_entry_points()[name].value} in {ENTRY_POINT_GROUP!r})"
        )
    POLICIES[name] = factory


def unregister_policy(name: str) -> None:
    """Forget the policy ``name`` (registered, or an entry point's once loaded): a config
    naming it is refused from then on, as one nobody registered (an installed entry point
    of that name is loaded again the next time a config names it). A router running it
    keeps its chain; its next ``reconfigure`` naming it is refused, changing nothing.

    Raises ValueError for a built-in policy's name or a name nobody registered.
    """
    if name in POLICY_NAMES:
        raise ValueError(f"unregister_policy: {name!r} is a built-in policy")
    if not isinstance(name, str) or name not in POLICIES:
        registered = sorted(n for n in POLICIES if n not in POLICY_NAMES)
        raise ValueError(
            f"unregister_policy: no policy {name!r} is registered; registered: "
            + (", ".join(registered) or "none")
        )
    del POLICIES[name]


def _entry_points() -> dict[str, metadata.EntryPoint]:
    """The installed ``router.policies`` entry points by name (the first of a name; two
    distributions offering one name differently are refused by :func:`find_policy`)."""
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def _dist_name(ep: metadata.EntryPoint) -> str:
    """The name of the distribution offering ``ep`` (``?`` if it has none)."""
    dist = getattr(ep, "dist", None)
    return str(dist.name) if dist is not None else "?"


def find_policy(name: str) -> PolicyFactory | None:
    """The factory of ``name``: registered, or an entry point's (loaded and registered now);
    None if nobody knows it (a built-in name before the admission module is imported counts
    as known: see :func:`known_policies`). Raises PolicyLoadError if its entry point fails,
    or if two installed distributions offer ``name`` with different ``pkg.mod:factory``
    (naming both: never the first found silently; the same value twice is one policy)."""
    factory = POLICIES.get(name)
    if factory is not None or name in POLICY_NAMES:
        return factory
    ep = _entry_points().get(name)
    if ep is None:
        return None
    offers = [e for e in metadata.entry_points(group=ENTRY_POINT_GROUP) if e.name == name]
    if len({e.value for e in offers}) > 1:  # which one a config means is anybody's guess
        raise PolicyLoadError(
            f"policy {name!r} is offered by {len(offers)} installed distributions: "
            + ", ".join(f"{_dist_name(e)} ({e.value})" for e in offers)
            + "; uninstall all but one"
        )
    try:
        loaded: PolicyFactory = ep.load()
    except Exception as exc:  # the plug-in's own import error: report it, named
        raise PolicyLoadError(
            f"policy {name!r} (entry point {ep.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(loaded):
        raise PolicyLoadError(f"policy {name!r} (entry point {ep.value}) is not callable")
    factory = loaded  # (a class taking the config will do)
    POLICIES[name] = factory
    return factory


def is_known(name: str) -> bool:
    """Whether a config may name ``name`` (loading its entry point if that is where it is)."""
    return name in POLICY_NAMES or find_policy(name) is not None


def known_policies() -> list[str]:
    """Every name a config may give, sorted: built in, registered, installed entry points."""
    return sorted({*POLICY_NAMES, *POLICIES, *_entry_points()})
