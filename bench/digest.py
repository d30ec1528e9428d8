"""The digest of a seeded flood's events: did a change keep every decision?

``python -m bench.digest [SCENARIO] [--load 20] [--seed 2020] [--duration S]`` runs the
simulator on ``SCENARIO`` (default ``examples/spring_festival.toml``) and prints how many
events it emitted and the sha256 of their encoding (``router.events.encode_events``).
Two trees make the same decisions on that flood when their digests agree; the build and
tree measured follow ``BENCH_ROUTER_PATH`` and ``BENCH_ROUTER_BUILD`` (``bench/build.py``),
so ``BENCH_ROUTER_PATH=/tmp/before python -m bench.digest`` digests another tree.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from bench.build import apply_environment, describe

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Run the flood and print ``events``, ``sha256`` and the build that ran."""
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    parser.add_argument(
        "scenario", nargs="?", default=str(ROOT / "examples" / "spring_festival.toml")
    )
    parser.add_argument("--load", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: all)")
    args = parser.parse_args(argv)
    apply_environment()
    from router.events import encode_events
    from router.sim import Simulator, load_scenario

    events: list[object] = []

    def keep(event: object) -> bool:
        events.append(event)
        return True

    sim = Simulator(
        load_scenario(args.scenario),
        seed=args.seed,
        load=args.load,
        duration_s=args.duration,
        on_event=keep,
        force=True,
    )
    sim.run()
    digest = hashlib.sha256(encode_events(events)).hexdigest()  # type: ignore[arg-type]
    print(f"events {len(events)}")
    print(f"sha256 {digest}")
    print(f"build {'compiled' if describe()['compiled'] else 'pure'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
