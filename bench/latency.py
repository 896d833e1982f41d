"""Ack and follow-up latency of the real server process, and of the floor, in the same run."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.clicks import publish_and_find_clicks
from bench.load import KINDS, Cell, Click, FollowUps, Load
from bench.plan import Plan
from bench.seed import MODULES_PER_HOTFIX, RedHotfix, SeededCatalog
from bench.servers import (
    FLOOR,
    PRODUCT,
    Secrets,
    ServerProcess,
    free_port,
    server_environment,
    start,
)
from standin.web_api import FakeSlackWebApi
from storage.setup import open_database

FLOOR_NAME = "floor"
PRODUCT_NAME = "product"


@dataclass
class LatencyResult:
    cells: list[Cell] = field(default_factory=list)
    peak_rss_kib: dict[str, int | None] = field(default_factory=dict)

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
    """Floor first, then the product, with the same requests, against one fake Web API."""
    follow_ups = FollowUps()
    keys = Secrets.new()
    result = LatencyResult()
    with FakeSlackWebApi(on_call=follow_ups.on_call) as fake:
        clicks = _clicks(url, catalog, reserved, plan, fake)
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
    return result


def _clicks(
    url: str,
    catalog: SeededCatalog,
    reserved: Sequence[RedHotfix],
    plan: Plan,
    fake: FakeSlackWebApi,
) -> list[Click]:
    needed = plan.warmup + plan.requests * len(plan.concurrencies)
    candidates = [h for h in catalog.propagating() if h not in reserved]
    chosen = candidates[: math.ceil(needed / MODULES_PER_HOTFIX)]
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


def _cells(load: Load, server: ServerProcess, clicks: Sequence[Click], plan: Plan) -> list[Cell]:
    for kind in KINDS:
        load.run(server.name, kind, 1, plan.warmup, clicks[: plan.warmup])
    offset = plan.warmup
    cells = []
    for kind in KINDS:
        for concurrency in plan.concurrencies:
            chosen = clicks[offset : offset + plan.requests] if kind == "merged" else ()
            cpu = server.cpu_seconds()
            cell = load.run(
                server.name, kind, concurrency, plan.requests, chosen, plan.cell_time_limit
            )
            _settle(server)
            cell.server_cpu = server.cpu_seconds() - cpu
            cells.append(cell)
            if kind == "merged":
                offset += plan.requests
            log(
                f"    {server.name:7} {kind:6} c={concurrency:<2} {len(cell.samples)} requests "
                f"in {cell.seconds:.1f}s, {len(cell.errors)} error(s), "
                f"server CPU {cell.cpu_per_request * 1000:.1f} ms/request"
            )
    return cells


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
