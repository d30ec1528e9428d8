"""The regression guard: ``make bench-check``, i.e. ``python -m bench.guard``.

Theory of operation
-------------------
A figure compared with one recorded on another day, or on another CPU model,
measures the machine as much as the code. So the guard measures both versions
now, on this machine, taking turns, the way ``pyperf compare_to`` and
``asv continuous`` do:

1. **Reference.** The commit recorded as accepted in ``bench/baseline.json``
   (``accepted.commit``): the last version whose figures someone looked at and
   accepted. Comparing every candidate with that one commit, rather than with
   the previous commit, keeps small slowdowns from adding up unseen (five
   commits 5% slower each pass a previous-commit guard one by one). When that
   commit is not in the clone: the merge base with ``main`` if it is not HEAD
   itself, else ``HEAD~1``. ``--reference REV`` overrides.
2. **Trees.** The reference's ``router/`` is exported with ``git archive`` into
   a temporary directory (a detached checkout that registers no worktree in the
   shared ``.git``); the candidate is the working tree, uncommitted changes
   included (``--candidate DIR`` for another one).
3. **Interleaved runs.** Each side runs the candidate's harness,
   ``python -m bench --mode guard``, in a process of its own, through the
   public API only; ``BENCH_ROUTER_PATH`` picks the tree and
   ``BENCH_ROUTER_BUILD`` the build (:mod:`bench.build`; ``pure`` by default so
   a compiled candidate is not compared with a pure reference). The order is
   C R, R C, C R, ...: each pair is one repeat, and alternating who goes first
   cancels a steady drift of the machine.
4. **Verdict.** For each guarded figure and repeat, the candidate's figure
   over the reference's, turned so that above 1 is worse. A figure regresses
   when it is worse by more than its margin in at least ``fail_in`` of the
   ``repeats`` repeats: one slow spell spoils one repeat, not ``fail_in``.
   A figure the reference cannot produce (the harness measures something the
   old code lacks) is skipped with a note; one the candidate fails to produce
   is a regression.
5. **Record.** ``baseline.json`` also keeps the accepted commit's figures, the
   machine and the versions of the measured packages. When this machine's CPU
   model or a version differs the guard warns and goes on: the verdict does
   not depend on them (both sides run here and now), only the accepted figures
   printed beside it come from elsewhere.

Tail percentiles (the surge's p99) are reported by ``python -m bench`` and never
guarded: on two shared cores one run's p99 moves with where the GC pauses and
the neighbours' bursts land.

``python -m bench.guard --accept REV`` records REV as the accepted commit with
its figures (median of ``--runs`` guard runs of that commit), keeping margins.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.build import BUILDS, ENV_BUILD, ENV_PATH
from bench.timing import machine, versions

__all__ = [
    "GUARDED",
    "evaluate",
    "figures_of",
    "load_baseline",
    "main",
    "resolve_reference",
]

HARNESS_ROOT = Path(__file__).resolve().parent.parent
BASELINE = HARNESS_ROOT / "bench" / "baseline.json"
WORKER_TIMEOUT_S = 600.0


def _median_or_none(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def _calibrated(report: dict[str, Any], label: str) -> float | None:
    """The lifecycle at ``label`` agents over the calibration loop, per round (median)."""
    value = report.get("extra", {}).get("lifecycle", {}).get("calibrated_by_size", {}).get(label)
    return None if value is None else float(value)


#: Guarded figures of a ``--mode guard`` report: which way is better, and where to read it.
GUARDED: dict[str, tuple[str, Callable[[dict[str, Any]], float | None]]] = {
    # per round over the calibration run beside it: a host that slows for a few seconds (one
    # side's process in a repeat) slows both; raw microseconds swung by ±25-45% per repeat
    "lifecycle_1000_calibrated": ("lower", lambda r: _calibrated(r, "1000")),
    "lifecycle_10000_calibrated": ("lower", lambda r: _calibrated(r, "10000")),
    "decision_200k_calibrated": (
        "lower",
        lambda r: r["extra"].get("queue_depth", {}).get("decision_calibrated"),
    ),
    "bytes_per_queued_inquiry": ("lower", lambda r: r.get("bytes_per_queued_inquiry")),
    "statistics_over_decision": ("lower", lambda r: r.get("statistics_over_decision")),
    "sim_over_ciw": ("higher", lambda r: _median_or_none(r["extra"].get("sim_over_ciw_rounds"))),
    "e2e_over_skill_queue_service": ("higher", lambda r: r.get("e2e_over_skill_queue_service")),
    "adapter_over_direct": ("higher", lambda r: r.get("adapter_over_direct")),
}


def figures_of(report: dict[str, Any]) -> dict[str, float | None]:
    """The guarded figures of one ``python -m bench --mode guard`` report."""
    out: dict[str, float | None] = {}
    for name, (_, read) in GUARDED.items():
        value = read(report)
        ok = isinstance(value, int | float) and math.isfinite(value) and value > 0
        out[name] = float(value) if ok else None  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------- baseline


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and validate a baseline file; ValueError with a one-line reason if bad."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: $: expected an object")
    accepted = data.get("accepted")
    commit = accepted.get("commit") if isinstance(accepted, dict) else None
    if not isinstance(commit, str) or not re.fullmatch(r"[0-9a-f]{7,40}", commit):
        raise ValueError(f"{path}: $.accepted.commit: expected a commit id (7-40 hex digits)")
    guard = data.get("guard")
    if not isinstance(guard, dict):
        raise ValueError(f"{path}: $.guard: expected an object with repeats, fail_in, margins")
    repeats, fail_in = guard.get("repeats"), guard.get("fail_in")
    if not isinstance(repeats, int) or isinstance(repeats, bool) or not 1 <= repeats <= 50:
        raise ValueError(f"{path}: $.guard.repeats: expected an integer in [1, 50]")
    if not isinstance(fail_in, int) or isinstance(fail_in, bool) or not 1 <= fail_in <= repeats:
        raise ValueError(f"{path}: $.guard.fail_in: expected an integer in [1, repeats]")
    if guard.get("build", "pure") not in BUILDS:
        raise ValueError(f"{path}: $.guard.build: expected one of {', '.join(BUILDS)}")
    margins = guard.get("margins")
    if not isinstance(margins, dict) or not margins:
        raise ValueError(f"{path}: $.guard.margins: expected an object of guarded figures")
    for name, entry in margins.items():
        where = f"{path}: $.guard.margins.{name}"
        if name not in GUARDED:
            raise ValueError(f"{where}: unknown figure; known: {', '.join(GUARDED)}")
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object with better and margin")
        margin = entry.get("margin")
        if not isinstance(margin, int | float) or isinstance(margin, bool) or not 0 <= margin < 10:
            raise ValueError(f"{where}.margin: expected a number in [0, 10)")
        if entry.get("better") != GUARDED[name][0]:
            raise ValueError(f"{where}.better: expected {GUARDED[name][0]!r}")
    return data


def environment_warnings(baseline: dict[str, Any]) -> list[str]:
    """WARN lines for a CPU model or package versions other than the baseline's."""
    out = []
    here, there = machine(), baseline.get("machine", {})
    if there.get("cpu") and here["cpu"] != there["cpu"]:
        out.append(
            f"WARN machine: this CPU is {here['cpu']!r}, the accepted figures were measured on "
            f"{there['cpu']!r}; the verdict compares both versions here, only the accepted "
            "figures shown beside it are from that machine"
        )
    recorded = baseline.get("versions", {})
    now = versions()
    changed = [
        f"{name} {recorded[name]} -> {now.get(name)}"
        for name in sorted(recorded)
        if recorded[name] != now.get(name)
    ]
    if changed:
        out.append(
            "WARN versions differ from the accepted figures': "
            + ", ".join(changed)
            + " (both versions run on the installed ones; pin them in pyproject's dev extra)"
        )
    return out


# ---------------------------------------------------------------------- reference


def _git(*args: str, cwd: Path = HARNESS_ROOT) -> str | None:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _commit(rev: str, repo: Path = HARNESS_ROOT) -> str | None:
    return _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=repo)


def resolve_reference(
    accepted: str | None, override: str | None = None, repo: Path = HARNESS_ROOT
) -> tuple[str, str]:
    """``(full commit id, why)`` of the reference version (see the module docstring)."""
    if override:
        found = _commit(override, repo)
        if found is None:
            raise ValueError(f"--reference {override}: no such commit in this clone")
        return found, f"--reference {override}"
    if accepted:
        found = _commit(accepted, repo)
        if found is not None:
            return found, "the accepted commit in bench/baseline.json"
    why = f"accepted commit {accepted} is not in this clone; " if accepted else ""
    head = _commit("HEAD", repo)
    for branch in ("main", "origin/main"):
        base = _git("merge-base", "HEAD", branch, cwd=repo) if _commit(branch, repo) else None
        if base and base != head:
            return base, why + f"the merge base with {branch}"
    parent = _commit("HEAD~1", repo)
    if parent is not None:
        return parent, why + "HEAD~1"
    raise ValueError(
        why + "no merge base or parent commit either (a shallow clone?): "
        "fetch the history (git fetch --unshallow) or pass --reference REV"
    )


@contextmanager
def exported(commit: str) -> Iterator[Path]:
    """The ``router/`` tree of ``commit`` in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-guard-ref-") as tmp:
        data = subprocess.run(
            ["git", "archive", "--format=tar", commit, "router"],
            cwd=HARNESS_ROOT,
            capture_output=True,
            check=False,
        )
        if data.returncode != 0:
            raise ValueError(f"git archive {commit} router: {data.stderr.decode().strip()}")
        with tarfile.open(fileobj=io.BytesIO(data.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                tar.extractall(tmp, filter="data")
            else:  # our own commit's tree, written by git archive
                tar.extractall(tmp)
        yield Path(tmp)


# ---------------------------------------------------------------------- runs


def _worker(tree: Path, build: str, out: Path) -> subprocess.Popen[str]:
    """Start one ``python -m bench --mode guard`` process measuring the router under ``tree``."""
    environ = dict(os.environ)
    environ[ENV_PATH] = str(tree)
    environ[ENV_BUILD] = build
    cmd = [sys.executable, "-m", "bench", "--mode", "guard", "--quiet", "--json", str(out)]
    return subprocess.Popen(
        cmd,
        cwd=HARNESS_ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_workers(jobs: list[tuple[Path, Path]], build: str, concurrent: bool) -> None:
    """Run a guard-mode worker per ``(tree, out)``: all at once, or one after another."""
    procs: list[tuple[Path, Path, subprocess.Popen[str]]] = []
    try:
        for tree, out in jobs:
            procs.append((tree, out, _worker(tree, build, out)))
            if not concurrent:
                procs[-1][2].wait(WORKER_TIMEOUT_S)
        for tree, out, proc in procs:
            _, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
            if proc.returncode != 0 or not out.exists():
                tail = "\n".join(err.strip().splitlines()[-5:]) or "no output"
                raise RuntimeError(
                    f"bench worker for {tree} failed (exit {proc.returncode}):\n{tail}"
                )
    finally:
        for _, _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _raw(report: dict[str, Any]) -> dict[str, Any]:
    """The medians behind a report's guarded figures, for looking into a verdict."""
    ex = report.get("extra", {})
    return {
        "core_lifecycle_us": report.get("core_lifecycle_us"),
        "indexed_naive_lifecycle_us": report.get("indexed_naive_lifecycle_us"),
        "calibration_heapq_pair_us": report.get("calibration_heapq_pair_us"),
        "lifecycle_spread": ex.get("lifecycle", {}).get("spread"),
        "queued_decision_us": report.get("queued_1m_decision_us"),
        "section_wall_s": ex.get("section_wall_s"),
        "wall_s": report.get("meta", {}).get("wall_s"),
    }


def worse_factor(candidate: float, reference: float, better: str) -> float:
    """How much worse the candidate is, as a factor (> 1: worse)."""
    return candidate / reference if better == "lower" else reference / candidate


def evaluate(
    pairs: list[tuple[dict[str, float | None], dict[str, float | None]]],
    margins: dict[str, dict[str, Any]],
    fail_in: int,
) -> dict[str, dict[str, Any]]:
    """Per guarded figure: per-repeat worse factors and the verdict.

    ``pairs`` holds one ``(candidate figures, reference figures)`` per repeat.
    Verdicts: ``ok``, ``REGRESSION`` (worse than the margin in ``fail_in``
    repeats or more, or missing from the candidate's report in ``fail_in``
    repeats where the reference has it) and ``skipped`` (the reference never
    produces it). A repeat missing either side does not count either way.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, entry in margins.items():
        better, margin = entry["better"], float(entry["margin"])
        cand = [c.get(name) for c, _ in pairs]
        ref = [r.get(name) for _, r in pairs]
        row: dict[str, Any] = {"better": better, "margin": margin, "candidate": cand}
        row["reference"] = ref
        if all(v is None for v in ref):
            row.update(verdict="skipped", why="the reference does not produce it", worse=[])
            out[name] = row
            continue
        both = [(c, r) for c, r in zip(cand, ref) if c is not None and r is not None]
        lost = sum(1 for c, r in zip(cand, ref) if c is None and r is not None)
        worse = [worse_factor(c, r, better) for c, r in both]
        beyond = sum(1 for w in worse if w > 1 + margin)
        row["worse"] = worse
        row["beyond_margin"] = beyond
        if worse:
            row["median_worse"] = statistics.median(worse)
        if lost >= fail_in:
            row.update(verdict="REGRESSION", why="not measured in the candidate")
        else:
            row["verdict"] = "REGRESSION" if beyond >= fail_in else "ok"
            if lost:
                row["why"] = f"not measured in {lost} candidate run(s)"
        out[name] = row
    return out


def _pct(w: float) -> str:
    return f"{100 * (w - 1):+.1f}%"


def format_table(result: dict[str, dict[str, Any]], fail_in: int, repeats: int) -> str:
    """The verdict as a plain-text table, one line per guarded figure."""
    lines = [
        f"{'figure':<30} {'better':<6} {'margin':>6}  "
        f"{'candidate vs reference per repeat (+ = worse)':<44} {'median':>7}  verdict"
    ]
    for name, row in result.items():
        per = " ".join(_pct(w) for w in row.get("worse", [])) or "-"
        med = _pct(row["median_worse"]) if "median_worse" in row else "-"
        verdict = row["verdict"]
        if "why" in row:
            verdict += f" ({row['why']})"
        if "beyond_margin" in row:
            verdict += f" [{row['beyond_margin']}/{repeats} beyond, fails at {fail_in}]"
        lines.append(
            f"{name:<30} {row['better']:<6} {100 * row['margin']:>5.0f}%  {per:<44} {med:>7}  "
            f"{verdict}"
        )
    return "\n".join(lines)


def measure_pairs(
    candidate: Path,
    reference: Path,
    repeats: int,
    build: str,
    workdir: Path,
    progress: Callable[[str], None],
    concurrent: bool = True,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``repeats`` pairs of guard-mode reports, candidate and reference.

    ``concurrent``: the two processes of a pair run at the same time, so both
    see the same neighbours; else one after the other, C R, R C, C R, ...
    """
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    t0 = time.perf_counter()
    for i in range(repeats):
        order = [("candidate", candidate), ("reference", reference)]
        if i % 2:
            order.reverse()
        how = "side by side" if concurrent else " then ".join(label for label, _ in order)
        progress(f"[{time.perf_counter() - t0:6.1f}s] repeat {i + 1}/{repeats}: {how}")
        outs = {label: workdir / f"{label}-{i + 1}.json" for label, _ in order}
        run_workers([(tree, outs[label]) for label, tree in order], build, concurrent)
        reports = {label: json.loads(out.read_text()) for label, out in outs.items()}
        pairs.append((reports["candidate"], reports["reference"]))
    return pairs


# ---------------------------------------------------------------------- accept


def accept(rev: str, baseline_path: Path, runs: int, progress: Callable[[str], None]) -> int:
    """Record ``rev`` as the accepted commit with its figures (median of ``runs`` runs)."""
    commit = _commit(rev)
    if commit is None:
        print(f"bench.guard: --accept {rev}: no such commit", file=sys.stderr)
        return 2
    data = load_baseline(baseline_path)
    build = data["guard"].get("build", "pure")
    reports = []
    with exported(commit) as tree, tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            progress(f"accept {commit[:12]}: run {i + 1}/{runs}")
            out = Path(tmp) / f"run-{i}.json"
            run_workers([(tree, out)], build, concurrent=False)
            reports.append(json.loads(out.read_text()))
    figures = [figures_of(r) for r in reports]
    data["accepted"] = {
        "commit": commit,
        "subject": _git("log", "-1", "--format=%s", commit),
        "accepted_on": time.strftime("%Y-%m-%d"),
    }
    data["machine"] = machine()
    data["versions"] = versions()
    data["figures"] = {
        name: _median_or_none([v for f in figures if (v := f[name]) is not None])
        for name in GUARDED
    }
    baseline_path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"accepted {commit[:12]} into {baseline_path}")
    for name, value in data["figures"].items():
        print(f"  {name:<30} {value if value is None else f'{value:.4g}'}")
    return 0


# ---------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.guard",
        description="The regression guard: the candidate against a reference commit, "
        "interleaved in one run (BENCHMARKS.md).",
    )
    p.add_argument("--baseline", default=str(BASELINE), help="default: bench/baseline.json")
    p.add_argument("--reference", metavar="REV", help="compare with REV instead")
    p.add_argument(
        "--candidate", metavar="DIR", help="a directory holding the candidate router/ package"
    )
    p.add_argument("--build", choices=BUILDS, help="default: the baseline's guard.build")
    p.add_argument("--repeats", type=int, help="default: the baseline's guard.repeats")
    p.add_argument("--fail-in", type=int, help="default: the baseline's guard.fail_in")
    p.add_argument(
        "--sequential",
        action="store_true",
        help="run the two processes of a pair one after the other (C R, R C, ...) instead "
        "of side by side",
    )
    p.add_argument("--json", metavar="PATH", help="write every figure and the verdict here")
    p.add_argument("--accept", metavar="REV", help="record REV as accepted, with its figures")
    p.add_argument("--runs", type=int, default=3, help="runs of REV for --accept (default 3)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return p


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)  # unwinds: workers are killed, temporary trees removed


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    try:
        baseline = load_baseline(Path(args.baseline))
    except ValueError as exc:
        print(f"bench.guard: {exc}", file=sys.stderr)
        return 2
    if args.accept:
        return accept(args.accept, Path(args.baseline), max(1, args.runs), progress)
    guard = baseline["guard"]
    repeats = args.repeats or guard["repeats"]
    fail_in = args.fail_in or guard["fail_in"]
    build = args.build or guard.get("build", "pure")
    if not 1 <= fail_in <= repeats:
        print(f"bench.guard: --fail-in {fail_in}: expected 1..{repeats}", file=sys.stderr)
        return 2
    candidate = Path(args.candidate).resolve() if args.candidate else HARNESS_ROOT
    if not (candidate / "router" / "__init__.py").is_file():
        print(f"bench.guard: --candidate {candidate}: no router/__init__.py", file=sys.stderr)
        return 2
    try:
        ref_commit, why = resolve_reference(baseline["accepted"]["commit"], args.reference)
    except ValueError as exc:
        print(f"bench.guard: {exc}", file=sys.stderr)
        return 2
    for line in environment_warnings(baseline):
        print(line)
    print(
        f"bench-guard: candidate {candidate} vs reference {ref_commit[:12]} ({why}); "
        f"build {build}; {repeats} repeats, a figure fails when worse than its margin "
        f"in {fail_in} of them"
    )
    t0 = time.perf_counter()
    with exported(ref_commit) as ref_tree, tempfile.TemporaryDirectory() as tmp:
        try:
            reports = measure_pairs(
                candidate,
                ref_tree,
                repeats,
                build,
                Path(tmp),
                progress,
                concurrent=not (args.sequential or guard.get("sequential", False)),
            )
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"bench.guard: {exc}", file=sys.stderr)
            return 2
    pairs = [(figures_of(c), figures_of(r)) for c, r in reports]
    result = evaluate(pairs, guard["margins"], fail_in)
    print(format_table(result, fail_in, repeats))
    accepted = baseline.get("figures") or {}
    if accepted:
        print("candidate figures (median of repeats) beside the accepted commit's:")
        for name in result:
            values = [c[name] for c, _ in pairs if c.get(name) is not None]
            mine = _median_or_none(values)  # type: ignore[arg-type]
            was = accepted.get(name)
            print(
                f"  {name:<30} {'-' if mine is None else f'{mine:.4g}':>10}   "
                f"accepted {'-' if was is None else f'{was:.4g}'}"
            )
    notes = sorted({n for c, r in reports for n in (*c["notes"], *r["notes"])})
    for note in notes:
        print(f"note: {note}")
    failed = [name for name, row in result.items() if row["verdict"] == "REGRESSION"]
    wall = time.perf_counter() - t0
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "candidate": str(candidate),
            "reference": ref_commit,
            "reference_why": why,
            "build": build,
            "repeats": repeats,
            "fail_in": fail_in,
            "wall_s": round(wall, 1),
            "machine": machine(),
            "versions": versions(),
            "result": result,
            "pairs": [{"candidate": c, "reference": r} for c, r in pairs],
            "raw": [{"candidate": _raw(c), "reference": _raw(r)} for c, r in reports],
            "notes": notes,
        }
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {path}")
    if failed:
        print(f"bench-guard: REGRESSION in {', '.join(failed)} ({wall:.0f}s)")
        return 1
    print(
        f"bench-guard: ok, no figure worse than its margin in {fail_in} of {repeats} repeats "
        f"({wall:.0f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
