"""Ack and follow-up latency of the real server process, and of the floor, in the same run."""

from __future__ import annotations

import math
import pstats
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.clicks import publish_and_find_clicks
from bench.load import KINDS, Cell, Click, FollowUps, Load
from bench.plan import Plan
from bench.profiled_serve import CLOCK_ENV, PROFILE_ENV
from bench.seed import MODULES_PER_HOTFIX, RedHotfix, SeededCatalog
from bench.servers import (
    FLOOR,
    PRODUCT,
    PROFILED,
    REPO,
    Secrets,
    ServerProcess,
    free_port,
    server_environment,
    start,
)
from standin.web_api import FakeSlackWebApi
from storage.setup import open_database

if TYPE_CHECKING:
    from bench.targets import Verdict

FLOOR_NAME = "floor"
PRODUCT_NAME = "product"


@dataclass(frozen=True)
class ProfiledFunction:
    name: str  # path:line(function), the path shortened to the repository or site-packages
    calls: int
    own_ms: float  # per request: time in the function itself
    cumulative_ms: float  # per request: with everything it called


@dataclass
class Profile:
    """The server profiled over `requests` requests of one kind (see bench/profiled_serve.py)."""

    kind: str
    concurrency: int
    clock: str  # cpu: each thread's CPU time; wall: elapsed time, waits included
    why: str
    requests: int
    by_own: list[ProfiledFunction] = field(default_factory=list)
    by_cumulative: list[ProfiledFunction] = field(default_factory=list)
    error: str | None = None


@dataclass
class LatencyResult:
    cells: list[Cell] = field(default_factory=list)
    peak_rss_kib: dict[str, int | None] = field(default_factory=dict)
    profiles: list[Profile] = field(default_factory=list)

    def cell(self, server: str, kind: str, concurrency: int) -> Cell | None:
        for cell in self.cells:
            if (cell.server, cell.kind, cell.concurrency) == (server, kind, concurrency):
                return cell
        return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_latency(
    url: str, catalog: SeededCatalog, reserved: Sequence[RedHotfix], plan: Plan, folder: Path
) -> LatencyResult:
    """Floor first, then the product, with the same requests, against one fake Web API; then,
    for each of issue 10's bars the product missed, a profiling pass of that request kind."""
    from bench import targets  # it reads this module's results

    follow_ups = FollowUps()
    keys = Secrets.new()
    result = LatencyResult()
    with FakeSlackWebApi(on_call=follow_ups.on_call) as fake:
        clicks = _ClickSupply(_clicks(url, catalog, reserved, plan, fake))
        for name, module_args, database_url in (
            (FLOOR_NAME, FLOOR, None),
            (PRODUCT_NAME, PRODUCT, url),
        ):
            env = server_environment(keys, fake.base_url, free_port(), plan.threads, database_url)
            server = start(name, module_args, env, folder)
            try:
                load = Load(
                    server.events_url,
                    keys.signing_secret,
                    fake,
                    catalog.applications,
                    follow_ups if name == PRODUCT_NAME else None,
                )
                result.cells.extend(_cells(load, server, clicks, plan))
                result.peak_rss_kib[name] = server.peak_rss_kib()
            finally:
                server.stop()
        for kind, concurrency, clock, why in _profile_passes(targets.verdicts(result, plan)):
            env = server_environment(keys, fake.base_url, free_port(), plan.threads, url)
            load = Load(
                f"http://127.0.0.1:{env['PORT']}/slack/events",
                keys.signing_secret,
                fake,
                catalog.applications,
                follow_ups,
            )
            profile = Profile(kind, concurrency, clock, why, plan.profile_requests)
            profile_pass(load, env, clicks, plan, folder, profile)
            result.profiles.append(profile)
    return result


class _ClickSupply:
    """Merged buttons in order: each is clicked once in the whole run."""

    def __init__(self, clicks: Sequence[Click]) -> None:
        self.clicks = list(clicks)
        self.used = 0

    def take(self, count: int) -> Sequence[Click]:
        chosen = self.clicks[self.used : self.used + count]
        self.used += len(chosen)
        return chosen


def _clicks(
    url: str,
    catalog: SeededCatalog,
    reserved: Sequence[RedHotfix],
    plan: Plan,
    fake: FakeSlackWebApi,
) -> list[Click]:
    needed = plan.warmup + plan.requests * len(plan.concurrencies)
    # Room for the profiling passes of Merged clicks (at most two), when bars are missed.
    wanted = needed + (plan.warmup + plan.profile_requests) * 2
    candidates = [h for h in catalog.propagating() if h not in reserved]
    chosen = candidates[: math.ceil(wanted / MODULES_PER_HOTFIX)]
    database = open_database(url)
    try:
        clicks = publish_and_find_clicks(database, fake, chosen)
    finally:
        database.engine.dispose()
    if len(clicks) < needed:
        raise RuntimeError(
            f"{len(clicks)} Merged buttons for {needed} clicks: seed more applications"
        )
    return clicks


def _cells(load: Load, server: ServerProcess, clicks: _ClickSupply, plan: Plan) -> list[Cell]:
    # The floor only acks: it is measured over more requests, so that its CPU per request (read
    # in clock ticks of 10 ms from /proc) is not a handful of ticks.
    requests = plan.floor_requests if server.name == FLOOR_NAME else plan.requests
    floor = server.name == FLOOR_NAME
    # The floor changes nothing, so its clicks can be any buttons, reused.
    any_clicks = [clicks.clicks[i % len(clicks.clicks)] for i in range(requests)]
    for kind in KINDS:
        if kind != "merged":
            warm: Sequence[Click] = ()
        else:
            warm = any_clicks[: plan.warmup] if floor else clicks.take(plan.warmup)
        load.run(server.name, kind, 1, plan.warmup, warm)
    idle_rate = _idle_cpu_rate(server)
    log(f"    {server.name:7} idle CPU {idle_rate * 1000:.1f} ms/s")
    cells = []
    for kind in KINDS:
        for concurrency in plan.concurrencies:
            if kind == "merged" and floor:
                chosen: Sequence[Click] = any_clicks
            elif kind == "merged":
                chosen = clicks.take(plan.requests)
            else:
                chosen = ()
            cpu = server.cpu_seconds()
            think = plan.think_at_1 if concurrency == 1 else 0.0
            cell = load.run(
                server.name, kind, concurrency, requests, chosen, plan.cell_time_limit, think
            )
            _settle(server)
            cell.server_cpu = server.cpu_seconds() - cpu
            cell.idle_cpu = idle_rate * cell.seconds
            cells.append(cell)
            log(
                f"    {server.name:7} {kind:6} c={concurrency:<2} {len(cell.samples)} requests "
                f"in {cell.seconds:.1f}s, {len(cell.errors)} error(s), "
                f"server CPU {cell.cpu_per_request * 1000:.2f} ms/request"
            )
    return cells


def _profile_passes(verdicts: Sequence[Verdict]) -> list[tuple[str, int, str, str]]:
    """(kind, concurrency, clock, why): at most two passes per request kind. The CPU and ack
    bars share a CPU-clock pass at the lowest concurrency that missed (CPU per request hardly
    depends on it); a p99 bar gets a wall-clock pass at its concurrency (waits show there)."""
    passes: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for verdict in verdicts:
        if verdict.met:
            continue
        clock = "wall" if verdict.bar == "p99" else "cpu"
        concurrency, why = passes.get((verdict.kind, clock), (verdict.concurrency, []))
        why.append(f"{verdict.wanted} at concurrency {verdict.concurrency} ({verdict.figure})")
        passes[(verdict.kind, clock)] = (min(concurrency, verdict.concurrency), why)
    return [(kind, c, clock, "; ".join(why)) for (kind, clock), (c, why) in passes.items()]


def profile_pass(
    load: Load, env: dict[str, str], clicks: _ClickSupply, plan: Plan, folder: Path, into: Profile
) -> None:
    """Run `serve` under cProfile for one request kind and keep its top functions."""
    path = folder / f"profile-{into.kind}-{into.concurrency}-{into.clock}.prof"
    env = {**env, PROFILE_ENV: str(path), CLOCK_ENV: into.clock, "SHUTDOWN_GRACE": "5"}
    server = start(f"profiled-{into.kind}", PROFILED, env, folder)
    try:
        warm = clicks.take(plan.warmup) if into.kind == "merged" else ()
        warmed = load.run(server.name, into.kind, 1, len(warm) or plan.warmup, warm)
        chosen = clicks.take(plan.profile_requests) if into.kind == "merged" else ()
        count = len(chosen) if into.kind == "merged" else plan.profile_requests
        cell = load.run(
            server.name, into.kind, into.concurrency, count, chosen, plan.cell_time_limit
        )
        _settle(server)
        # The profile covers the warm-up too: per-request figures count its requests.
        into.requests = len(warmed.samples) + len(cell.samples)
    finally:
        server.stop()
    if not path.exists() or into.requests == 0:
        into.error = f"no profile written ({len(clicks.clicks) - clicks.used} clicks left)"
        return
    into.by_own, into.by_cumulative = top_functions(path, into.requests)
    log(f"    profiled {into.kind} c={into.concurrency} ({into.clock} clock): {path.name}")


# Frames every thread has: its bootstrap, and the wrapper that profiles it.
_PLUMBING = {("threading.py", "_bootstrap"), ("threading.py", "_bootstrap_inner")}
_PLUMBING |= {("profiled_serve.py", "profiled_run"), ("threading.py", "run")}


def _short(path: str) -> str:
    for marker in ("site-packages/", str(REPO) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.rsplit("/lib/python", 1)[-1].split("/", 1)[-1] if "/lib/python" in path else path


def top_functions(
    path: Path, requests: int, count: int = 25
) -> tuple[list[ProfiledFunction], list[ProfiledFunction]]:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.items():
        if (filename.rsplit("/", 1)[-1], function) in _PLUMBING:
            continue
        where = f"{_short(filename)}:{line}" if line else _short(filename)
        rows.append(
            ProfiledFunction(
                f"{where}({function})",
                int(calls),
                own * 1000 / requests,
                cumulative * 1000 / requests,
            )
        )
    by_own = sorted(rows, key=lambda row: row.own_ms, reverse=True)[:count]
    by_cumulative = sorted(rows, key=lambda row: row.cumulative_ms, reverse=True)[:count]
    return by_own, by_cumulative


def _idle_cpu_rate(server: ServerProcess, seconds: float = 10.0) -> float:
    """CPU seconds per second the server uses with no request in flight (after settling)."""
    _settle(server)
    before, started = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return max(server.cpu_seconds() - before, 0.0) / (time.monotonic() - started)


def _settle(server: ServerProcess, quiet: float = 0.2, timeout: float = 10.0) -> None:
    """Wait until the server stops using CPU (the work after the last follow-up is done)."""
    deadline = time.monotonic() + timeout
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = server.cpu_seconds()
        if now - before < 0.01:
            return
        before = now
