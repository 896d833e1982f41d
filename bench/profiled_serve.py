"""`hotfix-bot serve` under cProfile, for the benchmark's profiling pass only.

Run: ``HOTFIX_BENCH_PROFILE=/tmp/out.prof python -m bench.profiled_serve``. The product is not
changed: every thread started after this module is imported (waitress's workers, the listener
pool, the scheduler, the HTTP loop) runs under its own `cProfile.Profile`, because cProfile only
sees the thread that enabled it. `HOTFIX_BENCH_PROFILE_CLOCK=cpu` times with each thread's CPU
clock (where the CPU goes), `wall` (the default) with the wall clock (where requests wait: a lock,
a socket). `serve` ends with `os._exit` after its graceful stop, which skips `atexit`, so the
stats of every thread are merged and written just before that exit.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

PROFILE_ENV = "HOTFIX_BENCH_PROFILE"
CLOCK_ENV = "HOTFIX_BENCH_PROFILE_CLOCK"
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}

_profilers: list[cProfile.Profile] = []
_lock = threading.Lock()


def _new_profiler() -> cProfile.Profile:
    clock = CLOCKS[os.environ.get(CLOCK_ENV, "wall")]
    profiler = cProfile.Profile(clock)
    with _lock:
        _profilers.append(profiler)
    return profiler


class _Snapshot:
    """What `pstats.Stats` reads from a profiler, taken without disabling it: `create_stats`
    would disable profiling in the calling thread, not in the thread being profiled."""

    def __init__(self, profiler: cProfile.Profile) -> None:
        self.profiler = profiler
        self.stats: dict[Any, Any] = {}

    def create_stats(self) -> None:
        self.profiler.snapshot_stats()
        self.stats = self.profiler.stats  # type: ignore[attr-defined]


def write_stats(path: str) -> None:
    with _lock:
        profilers = list(_profilers)
    if not profilers:
        return
    stats = pstats.Stats(_Snapshot(profilers[0]))  # type: ignore[arg-type]
    for profiler in profilers[1:]:
        stats.add(_Snapshot(profiler))  # type: ignore[arg-type]
    stats.dump_stats(path)


def install(path: str) -> None:
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profiler = _new_profiler()
        profiler.enable()
        try:
            original_run(self)
        finally:
            profiler.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    real_exit = os._exit

    def exit_after_writing(status: int) -> NoReturn:
        try:
            write_stats(path)
        finally:
            real_exit(status)

    os._exit = exit_after_writing


def main() -> None:
    install(os.environ[PROFILE_ENV])
    from cli.main import main as cli

    cli(["serve"])


if __name__ == "__main__":
    main()
