"""Issue 10's bars, checked cell by cell against the measured figures.

- Server CPU per request at most 10x the floor's for a Merged click, 15x for `/hotfix list`
  (machines differ, so the ratio is the bar, not milliseconds).
- Until the follow-up, p99 at concurrency 16 at most 500 ms, every request kind.
- Ack p50 at concurrency 1 within 1.3x the floor's, every request kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.latency import FLOOR_NAME, PRODUCT_NAME, LatencyResult
from bench.load import KINDS
from bench.plan import Plan
from bench.stats import ms, percentile

CPU_RATIO_BARS = {"merged": 10.0, "list": 15.0}
P99_BAR_SECONDS = 0.5
P99_CONCURRENCY = 16
ACK_RATIO_BAR = 1.3
ACK_CONCURRENCY = 1

CPU, P99, ACK = "cpu", "p99", "ack"


@dataclass(frozen=True)
class Verdict:
    bar: str  # CPU, P99 or ACK
    kind: str
    concurrency: int
    wanted: str  # the bar in words
    figure: str  # what was measured, in words
    met: bool


def _ratio(value: float, floor: float) -> float:
    if math.isnan(value) or math.isnan(floor) or floor <= 0:
        return math.nan
    return value / floor


def _ms2(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def verdicts(latency: LatencyResult, plan: Plan) -> list[Verdict]:
    found: list[Verdict] = []
    for kind in KINDS:
        bar = CPU_RATIO_BARS.get(kind)
        if bar is None:
            continue
        for concurrency in plan.concurrencies:
            mine = latency.cell(PRODUCT_NAME, kind, concurrency)
            floor = latency.cell(FLOOR_NAME, kind, concurrency)
            if mine is None or floor is None:
                continue
            value = _ratio(mine.cpu_per_request, floor.cpu_per_request)
            found.append(
                Verdict(
                    CPU,
                    kind,
                    concurrency,
                    f"server CPU per request <= {bar:.0f}x the floor's",
                    f"{_ms2(mine.cpu_per_request)} / {_ms2(floor.cpu_per_request)} ms "
                    f"= {value:.1f}x",
                    not math.isnan(value) and value <= bar,
                )
            )
    for kind in KINDS:
        cell = latency.cell(PRODUCT_NAME, kind, P99_CONCURRENCY)
        if cell is None:
            continue
        p99 = percentile(cell.follow_ups, 99)
        # A request that never got its follow-up has no latency to rank: it fails the bar.
        whole = not cell.errors
        found.append(
            Verdict(
                P99,
                kind,
                P99_CONCURRENCY,
                f"p99 until the follow-up <= {P99_BAR_SECONDS * 1000:.0f} ms",
                f"{ms(p99)} ms" + ("" if whole else f" ({len(cell.errors)} failed)"),
                whole and not math.isnan(p99) and p99 <= P99_BAR_SECONDS,
            )
        )
    for kind in KINDS:
        mine = latency.cell(PRODUCT_NAME, kind, ACK_CONCURRENCY)
        floor = latency.cell(FLOOR_NAME, kind, ACK_CONCURRENCY)
        if mine is None or floor is None:
            continue
        value, base = percentile(mine.acks, 50), percentile(floor.acks, 50)
        found.append(
            Verdict(
                ACK,
                kind,
                ACK_CONCURRENCY,
                f"ack p50 <= {ACK_RATIO_BAR}x the floor's",
                f"{_ms2(value)} / {_ms2(base)} ms = {_ratio(value, base):.2f}x",
                not math.isnan(value) and value <= ACK_RATIO_BAR * base,
            )
        )
    return found
