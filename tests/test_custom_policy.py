"""Custom backpressure policies, written as docs/backpressure.md ("Writing a policy") says:
a subclass of ``AdmissionPolicy``, registered with ``router.policies.register_policy`` or
offered by an installed distribution's ``router.policies`` entry point, named in the config.

Runs on both builds (``COMPILED_TESTS``): on the compiled one the documented policy is a
Python class subclassing the compiled ``AdmissionPolicy``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import router
from router import Inquiry, Router
from router.config import RouterConfig
from router.config.registry import POLICIES
from router.errors import ConfigError
from router.events import Queued, Rejected
from router.policies import known_policies, register_policy, unregister_policy
from router.policies.admission import AdmissionPolicy, AdmissionView, Arrival, Verdict
from tests.helpers import config

ROOT = Path(__file__).resolve().parent.parent

CENTER = """
[backpressure]
policy = {policy}
[[queues]]
name = "a"
[[queues]]
name = "b"
"""


def center(policy: str = '["quota"]') -> str:
    return CENTER.format(policy=policy)


@pytest.fixture
def registry() -> Iterator[dict[str, Any]]:
    """The registry as it was after the test (what a test registers is forgotten)."""
    saved = dict(POLICIES)
    yield POLICIES
    POLICIES.clear()
    POLICIES.update(saved)


@pytest.fixture
def quota(registry: dict[str, Any]) -> Any:
    """The documented example, run as written (its ``limit`` lowered to 2 afterwards)."""
    text = (ROOT / "docs" / "backpressure.md").read_text()
    section = text[text.index("## Writing a policy") :]
    block = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    ns: dict[str, Any] = {"__name__": "backpressure_md"}
    exec(compile(block, "docs/backpressure.md", "exec"), ns)
    cls = ns["Quota"]
    assert registry["quota"] is cls
    cls.limit = 2
    return cls


def submit(r: Router, iid: str, queue: str, now: float) -> tuple[str, str]:
    adm = r.submit(Inquiry(id=iid, queue=queue), now=now)
    return adm.outcome, adm.reason


def test_the_documented_policy_admits_and_rejects_as_it_decides(quota: Any) -> None:
    r = Router(config(center()))
    assert [type(p).__name__ for p in r._bp.chain][:1] == ["Quota"]
    got = [submit(r, f"a{i}", "a", float(i)) for i in range(3)]
    assert got[:2] == [("admitted", ""), ("admitted", "")]
    assert got[2][0] == "rejected" and got[2][1] == "quota: a took 2"
    assert submit(r, "b0", "b", 3.0) == ("admitted", "")  # its own count
    events = r.tick(4.0)
    rejected = [e for e in events if isinstance(e, Rejected)]
    assert [(e.inquiry_id, e.reason) for e in rejected] == [("a2", "quota: a took 2")]
    assert {e.inquiry_id for e in events if isinstance(e, Queued)} == {"a0", "a1", "b0"}
    assert r.counters.rejected == 1 and r.counters.submitted == 4


def test_its_state_survives_snapshot_and_restore(quota: Any) -> None:
    r = Router(config(center()))
    submit(r, "a0", "a", 0.0)
    submit(r, "a1", "a", 1.0)
    data = r.snapshot()
    back = Router.restore(data)
    assert back.snapshot() == data
    chain = back._bp.chain
    assert chain[0].dump() == {"a": 2}
    assert submit(back, "a2", "a", 2.0)[0] == "rejected"  # the count came back
    fresh = Router(config(center()))
    assert submit(fresh, "a2", "a", 2.0)[0] == "admitted"  # (without it: admitted)


def test_its_state_survives_a_reconfigure_and_a_bad_one_changes_nothing(quota: Any) -> None:
    r = Router(config(center()))
    submit(r, "a0", "a", 0.0)
    submit(r, "a1", "a", 1.0)
    r.reconfigure(config(center('["admit_all", "quota"]') + '[[queues]]\nname = "c"\n'), now=2.0)
    assert submit(r, "a2", "a", 2.0)[0] == "rejected"  # the same policy: its counts kept
    before, cfg = r.snapshot(), r.config
    with pytest.raises(ConfigError) as info:
        r.reconfigure(_unchecked(center('["quota", "nope"]')), now=3.0)
    assert info.value.problems == [
        "$.backpressure.policy[1]: unknown policy 'nope'; known: " + ", ".join(known_policies())
    ]
    assert r.snapshot() == before and r.config is cfg
    assert submit(r, "c0", "c", 4.0)[0] == "admitted"


def _unchecked(text: str) -> Any:
    """A RouterConfig that skipped the checks (what an embedder builds in code)."""
    import tomllib

    import msgspec

    from router.config import RouterConfig

    return msgspec.convert(tomllib.loads(text), RouterConfig)


def test_an_unknown_name_is_refused_naming_the_field(quota: Any) -> None:
    known = ", ".join(known_policies())
    assert "quota" in known.split(", ") and "token_bucket" in known.split(", ")
    with pytest.raises(ConfigError) as info:
        config(center('["quota", "nope"]'))
    assert info.value.problems == [
        f"$.backpressure.policy[1]: unknown policy 'nope'; known: {known}"
    ]
    with pytest.raises(ConfigError) as info:
        Router(_unchecked(center('"nope"')))
    assert info.value.problems == [f"$.backpressure.policy: unknown policy 'nope'; known: {known}"]


def test_registering_a_taken_or_bad_name_is_refused(quota: Any) -> None:
    with pytest.raises(ValueError, match="'quota' is already taken"):
        register_policy("quota", quota)
    with pytest.raises(ValueError, match="'codel' is already taken"):
        register_policy("codel", quota)
    with pytest.raises(ValueError, match="'no pe' is not an identifier"):
        register_policy("no pe", quota)
    with pytest.raises(TypeError, match="'q2' is not callable"):
        register_policy("q2", 3)  # type: ignore[arg-type]
    assert POLICIES["quota"] is quota and "no pe" not in POLICIES and "q2" not in POLICIES


def test_a_factory_must_make_a_policy_of_its_name(quota: Any) -> None:
    register_policy("quota2", quota)  # a Quota says name = "quota"
    register_policy("nothing", lambda cfg: object())
    with pytest.raises(ConfigError) as info:
        Router(config(center('["quota2", "nothing"]')))
    assert info.value.problems == [
        "$.backpressure.policy[0]: the policy registered as 'quota2' is named 'quota' "
        "(its class must say name = 'quota2')",
        "$.backpressure.policy[1]: the factory of policy 'nothing' made object, "
        "not an AdmissionPolicy",
    ]


class Strict(AdmissionPolicy):
    """A registered policy whose factory checks the config's values (its "options")."""

    name = "strict"

    def __init__(self, cfg: RouterConfig) -> None:
        bound = cfg.backpressure.max_queue
        if bound is None or bound < 5:
            raise ValueError(f"strict needs $.backpressure.max_queue >= 5, got {bound}")

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        return None


STRICT_REFUSED = (
    "$.backpressure.policy[1]: policy 'strict' refused the config: "
    "ValueError: strict needs $.backpressure.max_queue >= 5, got 2"
)


def bounded(policy: str, max_queue: int) -> str:
    return center(policy).replace("[backpressure]", f"[backpressure]\nmax_queue = {max_queue}")


def test_a_factory_that_refuses_the_config_is_one_line_naming_the_field(
    registry: dict[str, Any],
) -> None:
    register_policy("strict", Strict)
    with pytest.raises(ConfigError) as info:
        Router(config(bounded('["admit_all", "strict"]', 2)))
    assert info.value.problems == [STRICT_REFUSED]
    r = Router(config(bounded('["admit_all", "strict"]', 5)))
    submit(r, "a0", "a", 0.0)
    before, cfg = r.snapshot(), r.config
    with pytest.raises(ConfigError) as info:
        r.reconfigure(config(bounded('["admit_all", "strict"]', 2)), now=1.0)
    assert info.value.problems == [STRICT_REFUSED]
    assert r.snapshot() == before and r.config is cfg  # nothing changed


def test_router_check_builds_the_policies(tmp_path: Path, registry: dict[str, Any]) -> None:
    """``router check`` builds the chain (what ``Router(...)`` would refuse, it refuses),
    for a config and for a scenario, exit code 2, one line, no traceback."""
    from router.cli.check import check_main

    register_policy("strict", Strict)
    scenario = (
        '[simulation]\nduration_s = 600\n[[agents]]\ncount = 1\n[[arrivals]]\nqueue = "a"\n'
        'rate_per_s = 0.1\nhandle_time = { dist = "exponential", mean_s = 120 }\n'
    )
    files = {
        "refused.toml": bounded('["admit_all", "strict"]', 2),
        "refused_scenario.toml": bounded('["admit_all", "strict"]', 2) + scenario,
        "fine.toml": bounded('["admit_all", "strict"]', 5),
        "fine_scenario.toml": bounded('["admit_all", "strict"]', 5) + scenario,
    }
    got = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        out = io.StringIO()
        got[name] = (check_main([str(tmp_path / name)], out=out), out.getvalue().splitlines())
    assert got["refused.toml"] == (2, [STRICT_REFUSED])
    assert got["refused_scenario.toml"] == (2, [STRICT_REFUSED])
    assert got["fine.toml"][0] == 0 and got["fine.toml"][1][0].startswith("ok: ")
    assert got["fine_scenario.toml"][0] == 0, got["fine_scenario.toml"]


def test_unregister_policy_forgets_a_registered_one(registry: dict[str, Any]) -> None:
    register_policy("strict", Strict)
    r = Router(config(bounded('["strict"]', 5)))
    submit(r, "a0", "a", 0.0)
    unregister_policy("strict")
    assert "strict" not in registry and "strict" not in known_policies()
    known = ", ".join(known_policies())
    with pytest.raises(ConfigError) as info:  # a config naming it: as one nobody registered
        config(bounded('["strict"]', 5))
    assert info.value.problems == [
        f"$.backpressure.policy[0]: unknown policy 'strict'; known: {known}"
    ]
    assert submit(r, "a1", "a", 1.0) == ("admitted", "")  # a running router keeps its chain
    assert [p.name for p in r._bp.chain] == ["strict"]
    before, cfg = r.snapshot(), r.config
    with pytest.raises(ConfigError) as info:  # its next reconfigure naming it: changes nothing
        r.reconfigure(_unchecked(bounded('["strict"]', 6)), now=2.0)
    assert info.value.problems == [
        f"$.backpressure.policy[0]: unknown policy 'strict'; known: {known}"
    ]
    assert r.snapshot() == before and r.config is cfg
    register_policy("strict", Strict)  # the name is free again
    assert Router(config(bounded('["strict"]', 5)))._bp.chain[0].name == "strict"


def test_unregister_policy_refuses_built_ins_and_unknown_names(registry: dict[str, Any]) -> None:
    saved = dict(registry)
    for name in ("admit_all", "codel", "token_bucket"):
        with pytest.raises(ValueError, match=f"unregister_policy: '{name}' is a built-in policy"):
            unregister_policy(name)
    with pytest.raises(ValueError) as info:
        unregister_policy("nope")
    assert str(info.value) == "unregister_policy: no policy 'nope' is registered; registered: none"
    register_policy("strict", Strict)
    with pytest.raises(ValueError) as info:
        unregister_policy("strct")
    assert str(info.value) == (
        "unregister_policy: no policy 'strct' is registered; registered: strict"
    )
    unregister_policy("strict")
    assert registry == saved  # the built-ins all there, nothing else changed


# --------------------------------------------------------------- plug-ins (entry points)

PLUGIN = '''
from router.policies.admission import AdmissionPolicy, Verdict


class NoB(AdmissionPolicy):
    """Deflect everything for queue b."""

    name = "no_b"

    def __init__(self, cfg):
        pass

    def on_arrival(self, view, arrival):
        if arrival.queue == "b":
            return Verdict("deflected", f"no_b: {view.places_held('b')} held")
        return None


class Picky(AdmissionPolicy):
    """Needs a router-wide bound (its option), refused in its factory without one."""

    name = "picky"

    def __init__(self, cfg):
        if cfg.backpressure.max_queue is None:
            raise ValueError("picky needs $.backpressure.max_queue")
'''


@pytest.fixture
def fresh_modules() -> Iterator[None]:
    """The plug-in's modules are imported by the test, and forgotten after it."""
    yield
    for name in [m for m in sys.modules if m.split(".")[0] == "nob_plugin"]:
        del sys.modules[name]


def _install_plugin(root: Path, *, broken: bool = False) -> Path:
    """A distribution installed the way pip leaves one: a package and its dist-info."""
    pkg = root / "nob_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('no module named x')\n" if broken else "")
    (pkg / "policies.py").write_text(PLUGIN)
    info = root / "nob_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nob-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[router.policies]\nno_b = nob_plugin.policies:NoB\npicky = nob_plugin.policies:Picky\n"
    )
    return root


def test_an_entry_point_plugin_is_loaded_when_a_config_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: dict[str, Any], fresh_modules: None
) -> None:
    monkeypatch.syspath_prepend(str(_install_plugin(tmp_path)))
    assert "no_b" in known_policies() and "no_b" not in registry  # listed, not yet loaded
    with pytest.raises(ValueError, match="'no_b' is already taken"):
        register_policy("no_b", lambda cfg: None)  # type: ignore[arg-type,return-value]
    r = Router(config(center('["no_b"]')))
    assert registry["no_b"].__module__ == "nob_plugin.policies"
    assert submit(r, "a0", "a", 0.0) == ("admitted", "")
    assert submit(r, "b0", "b", 1.0) == ("deflected", "no_b: 0 held")


def test_router_check_finds_an_installed_plugin(tmp_path: Path) -> None:
    """The real command line, in a new process: the plug-in is known only by its entry point."""
    site = _install_plugin(tmp_path / "site")
    build = Path(router.__file__).resolve().parent.parent  # the build under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(build), str(site)])}
    good = tmp_path / "good.toml"
    good.write_text(center('["no_b", "deflect"]'))
    bad = tmp_path / "bad.toml"
    bad.write_text(center('["no_b", "nope"]'))
    refusing = tmp_path / "refusing.toml"  # the plug-in's factory refuses it (no max_queue)
    refusing.write_text(center('["no_b", "picky"]'))
    with_bound = tmp_path / "bounded.toml"
    with_bound.write_text(bounded('["no_b", "picky"]', 9))

    def check(path: Path) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "router", "check", str(path)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)

    ok = check(good)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = check(bad)
    assert refused.returncode == 2 and refused.stderr == ""
    assert refused.stdout.splitlines() == [
        "$.backpressure.policy[1]: unknown policy 'nope'; known: "
        + ", ".join(sorted([*POLICIES, "no_b", "picky"]))
    ]
    built = check(refusing)  # the factory ran (and refused), nothing started
    assert built.returncode == 2 and built.stderr == ""
    assert built.stdout.splitlines() == [
        "$.backpressure.policy[1]: policy 'picky' refused the config: "
        "ValueError: picky needs $.backpressure.max_queue"
    ]
    ok = check(with_bound)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: "), ok.stdout + ok.stderr


def test_a_plugin_that_fails_to_import_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: dict[str, Any], fresh_modules: None
) -> None:
    monkeypatch.syspath_prepend(str(_install_plugin(tmp_path, broken=True)))
    with pytest.raises(ConfigError) as info:
        config(center('["no_b"]'))
    assert info.value.problems == [
        "$.backpressure.policy[0]: policy 'no_b' (entry point nob_plugin.policies:NoB) "
        "failed to load: ImportError: no module named x"
    ]
    assert "no_b" not in registry


# ------------------------------------- one entry-point name offered by two distributions (tidy49)


def _install_rival(root: Path, value: str) -> Path:
    """A second distribution (``rival-plugin``) offering ``no_b`` as ``value``."""
    info = root / "rival_plugin-0.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rival-plugin\nVersion: 0.2\n")
    (info / "entry_points.txt").write_text(f"[router.policies]\nno_b = {value}\n")
    return root


def test_two_distributions_offering_one_name_are_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: dict[str, Any], fresh_modules: None
) -> None:
    """Main loads whichever importlib finds first, silently. Now ``Router(...)``,
    ``reconfigure`` and ``router check`` refuse the config in one line naming both
    distributions and their factories; nothing is loaded, the router unchanged; the
    distributions' other names still load."""
    from router.cli.check import check_main

    monkeypatch.syspath_prepend(str(_install_plugin(tmp_path / "a")))
    monkeypatch.syspath_prepend(str(_install_rival(tmp_path / "b", "rival.policies:NoB")))
    line = (
        "$.backpressure.policy[0]: policy 'no_b' is offered by 2 installed distributions: "
        "rival-plugin (rival.policies:NoB), nob-plugin (nob_plugin.policies:NoB); "
        "uninstall all but one"
    )
    with pytest.raises(ConfigError) as exc:
        Router(config(center('["no_b"]')))
    assert exc.value.problems == [line]
    assert "no_b" not in registry and "nob_plugin.policies" not in sys.modules
    r = Router(config(center('["deflect"]')))
    before = (r.version, r.snapshot())
    with pytest.raises(ConfigError) as exc:
        r.reconfigure(config(center('["no_b"]')), 1.0)
    assert exc.value.problems == [line] and (r.version, r.snapshot()) == before
    path = tmp_path / "c.toml"
    path.write_text(center('["no_b"]'))
    out = io.StringIO()
    assert check_main([str(path)], out=out) == 2
    assert out.getvalue().splitlines() == [line]
    bounded_cfg = config(bounded('["picky"]', 9))  # only nob-plugin offers picky: loaded
    Router(bounded_cfg)
    assert registry["picky"].__module__ == "nob_plugin.policies"


def test_two_distributions_offering_the_same_factory_are_one_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: dict[str, Any], fresh_modules: None
) -> None:
    monkeypatch.syspath_prepend(str(_install_plugin(tmp_path / "a")))
    monkeypatch.syspath_prepend(str(_install_rival(tmp_path / "b", "nob_plugin.policies:NoB")))
    r = Router(config(center('["no_b"]')))
    assert registry["no_b"].__module__ == "nob_plugin.policies"
    assert submit(r, "b0", "b", 1.0) == ("deflected", "no_b: 0 held")
