"""The garbage collector's settings for a long-running `serve`.

Every request makes a few hundred ORM objects and Block Kit dicts that live a few milliseconds.
With CPython's defaults (a young collection every 700 allocations, and full ones often) each
full collection also walked everything built at start-up (modules, SQLAlchemy's mappers and
caches, Bolt's app), which cost `/hotfix list` about a quarter of its CPU in the benchmark.
"""

from __future__ import annotations

import gc

# Young collections every 20,000 net allocations instead of 700; older ones 20 times rarer.
# Garbage in cycles is freed later; the benchmark's peak memory of the server shows the cost.
THRESHOLDS = (20_000, 20, 20)


def settle_heap() -> None:
    """Collect once, move what start-up built out of the collector's sight, and collect less
    often. Call it once the app is built, before it takes traffic."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
