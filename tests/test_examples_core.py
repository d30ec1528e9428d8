"""The README's embedding example runs and routes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_embed_core_example_routes() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "embed_core.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("admitted 0.0\n")
    assert "Offered(inquiry_id='order-1', agent_id='ye'" in out
    assert "Completed(inquiry_id='order-1', agent_id='ye', queue='refund', handle_s=92.0" in out
