"""Directed tests from the mutation sweep of ``router/durable/domain.py``'s rest (mutM43).

Each test pins one behaviour of ``domain.py`` that a mutant changed without any other test
noticing. No Redis is reached.
"""

from __future__ import annotations

import re
from pathlib import Path

from router.durable.domain import BATCH_BUCKETS, _bucket

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_the_batch_size_buckets_are_the_ones_the_docs_list() -> None:
    # docs/deploy.md's metrics table names the histogram's bucket bounds
    (row,) = [x for x in DOCS.read_text().splitlines() if "router_durable_batch_inputs" in x]
    m = re.search(r"buckets ([0-9, ]+)\)", row)
    assert m is not None
    assert tuple(int(b) for b in m.group(1).split(", ")) == BATCH_BUCKETS
    # a batch counts in the first bucket whose bound it does not pass
    assert [_bucket(b) for b in BATCH_BUCKETS] == list(range(len(BATCH_BUCKETS)))
    assert [_bucket(b + 1) for b in BATCH_BUCKETS] == list(range(1, len(BATCH_BUCKETS) + 1))
