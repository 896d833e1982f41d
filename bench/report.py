"""The figures as Markdown: printed, and written to docs/PERFORMANCE.md."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bench import targets
from bench.latency import FLOOR_NAME, PRODUCT_NAME, LatencyResult, Profile, ProfiledFunction
from bench.load import KINDS
from bench.plan import Plan
from bench.reminder_sweep import BATCH, ReminderFigures
from bench.seed import SeededCatalog
from bench.statements import StatementCount
from bench.stats import PERCENTILES, ms, percentiles, ratio

STATUS_STATEMENTS_TARGET = 10
FOLLOW_UP = {"status": "response_url post", "list": "response_url post", "merged": "chat.update"}
REQUEST = {"status": "`/hotfix status <app>`", "list": "`/hotfix list`", "merged": "Merged click"}


@dataclass
class BackendResult:
    backend: str
    small: SeededCatalog | None = None
    large: SeededCatalog | None = None
    statements: dict[int, dict[str, StatementCount]] = field(default_factory=dict)
    latency: LatencyResult | None = None
    reminders: ReminderFigures | None = None
    seconds: float = 0.0
    skipped: str | None = None


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _p(values: Sequence[float]) -> dict[int, float]:
    return percentiles(values)


def _ack_rows(latency: LatencyResult, plan: Plan) -> list[list[str]]:
    rows = []
    for kind in KINDS:
        for concurrency in plan.concurrencies:
            product = latency.cell(PRODUCT_NAME, kind, concurrency)
            floor = latency.cell(FLOOR_NAME, kind, concurrency)
            if product is None or floor is None:
                continue
            mine, base = _p(product.acks), _p(floor.acks)
            rows.append(
                [
                    REQUEST[kind],
                    str(concurrency),
                    str(len(product.acks)),
                    *(ms(mine[p]) for p in PERCENTILES),
                    *(ms(base[p]) for p in PERCENTILES),
                    *(ratio(mine[p], base[p]) for p in PERCENTILES),
                    str(len(product.errors) + len(floor.errors)),
                ]
            )
    return rows


def _follow_up_rows(latency: LatencyResult, plan: Plan) -> list[list[str]]:
    rows = []
    for kind in KINDS:
        for concurrency in plan.concurrencies:
            product = latency.cell(PRODUCT_NAME, kind, concurrency)
            floor = latency.cell(FLOOR_NAME, kind, concurrency)
            if product is None or floor is None:
                continue
            mine, base = _p(product.follow_ups), _p(floor.acks)
            rows.append(
                [
                    REQUEST[kind],
                    FOLLOW_UP[kind],
                    str(concurrency),
                    str(len(product.follow_ups)),
                    *(ms(mine[p]) for p in PERCENTILES),
                    *(ratio(mine[p], base[p]) for p in PERCENTILES),
                    f"{product.throughput:.0f}",
                    _cpu_ms(product.cpu_per_request),
                    _cpu_ms(floor.cpu_per_request),
                ]
            )
    return rows


def _cpu_ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


BAR_NAMES = {
    targets.CPU: "server CPU / floor CPU per request",
    targets.P99: "p99 until the follow-up",
    targets.ACK: "ack p50 / floor ack p50",
}


def _issue_targets(results: Sequence[BackendResult], plan: Plan) -> list[str]:
    rows = []
    for result in results:
        if result.latency is None:
            continue
        for verdict in targets.verdicts(result.latency, plan):
            rows.append(
                [
                    result.backend,
                    BAR_NAMES[verdict.bar],
                    REQUEST[verdict.kind],
                    str(verdict.concurrency),
                    verdict.wanted,
                    verdict.figure,
                    "met" if verdict.met else "**missed**",
                ]
            )
    if not rows:
        return []
    met = sum(row[-1] == "met" for row in rows)
    return [
        "### Targets (issue 10)",
        "",
        f"{met} of {len(rows)} bars met. CPU ratios divide the server's CPU per request by the "
        "floor's in the cell of the same request kind and concurrency; the floor's cell is "
        f"{plan.floor_requests} requests (the product's {plan.requests}), because /proc counts "
        "CPU in 10 ms clock ticks and the floor uses well under 1 ms per request. A missed bar "
        "is followed by a profile of that request kind (*Profiles* below).",
        "",
        *table(
            ["backend", "figure", "request", "conc.", "bar", "measured", "verdict"],
            rows,
        ),
        "",
    ]


def _function_rows(functions: Sequence[ProfiledFunction]) -> list[list[str]]:
    return [
        [
            f"`{f.name}`",
            f"{f.calls}",
            f"{f.own_ms:.2f}",
            f"{f.cumulative_ms:.2f}",
        ]
        for f in functions
    ]


def _profile_lines(backend: str, profile: Profile) -> list[str]:
    title = (
        f"#### {backend}: {REQUEST[profile.kind]} at concurrency {profile.concurrency}, "
        f"{profile.clock} clock"
    )
    lines = [title, "", f"Missed: {profile.why}.", ""]
    if profile.error:
        return [*lines, f"Not profiled: {profile.error}.", ""]
    header = ["function", "calls", "own ms/req", "cumulative ms/req"]
    return [
        *lines,
        f"{profile.requests} requests (the warm-up included). By own time:",
        "",
        *table(header, _function_rows(profile.by_own)),
        "",
        "By cumulative time:",
        "",
        *table(header, _function_rows(profile.by_cumulative)),
        "",
    ]


def _profile_section(results: Sequence[BackendResult]) -> list[str]:
    profiles = [
        (result.backend, profile)
        for result in results
        if result.latency is not None
        for profile in result.latency.profiles
    ]
    if not profiles:
        return []
    lines = [
        "### Profiles",
        "",
        "For each missed bar the server ran again under cProfile (`bench/profiled_serve.py`: "
        "one profiler per thread, merged) for that request kind, after a warm-up. The *cpu* "
        "clock is each thread's CPU time (where the CPU goes: the CPU and ack bars); the *wall* "
        "clock is elapsed time (where requests wait: the p99 bar), so idle threads waiting for "
        "work show too. Figures are per request, with cProfile's own overhead in them: read "
        "them for proportions, not as timings.",
        "",
    ]
    for backend, profile in profiles:
        lines += _profile_lines(backend, profile)
    return lines


def _latency_section(result: BackendResult, plan: Plan) -> list[str]:
    latency = result.latency
    if latency is None:
        return []
    ack_header = ["request", "conc.", "n", "p50", "p95", "p99"]
    ack_header += ["floor p50", "floor p95", "floor p99", "xfloor p50", "xfloor p95", "xfloor p99"]
    follow_header = ["request", "until", "conc.", "n", "p50", "p95", "p99"]
    follow_header += ["xfloor p50", "xfloor p95", "xfloor p99", "req/s"]
    follow_header += ["server CPU ms/req", "floor CPU ms/req"]
    lines = [
        f"#### Ack latency, ms ({result.backend})",
        "",
        *table([*ack_header, "errors"], _ack_rows(latency, plan)),
        "",
        f"#### Until the follow-up reaches the Web API, ms ({result.backend})",
        "",
        "Ratios are to the floor's *ack* at the same percentile and concurrency. *req/s*: "
        "requests completed per second by the closed loop; *CPU ms/req*: CPU time (user + "
        "system, all threads) the server process used per request during the cell.",
        "",
        *table(follow_header, _follow_up_rows(latency, plan)),
        "",
    ]
    errors = [e for cell in latency.cells for e in cell.errors]
    if errors:
        lines += [f"First errors ({len(errors)} in all): " + "; ".join(errors[:3]), ""]
    return lines


def _statement_rows(results: Sequence[BackendResult], plan: Plan) -> list[list[str]]:
    rows = []
    sizes = (plan.small_applications, plan.large_applications)
    for result in results:
        if result.skipped:
            continue
        for kind in KINDS:
            counts = [result.statements.get(size, {}).get(kind) for size in sizes]
            figures = [str(c.total) if c else "-" for c in counts]
            large = counts[1]
            detail = (
                ", ".join(f"{verb} {n}" for verb, n in sorted(large.by_verb().items()))
                if large
                else "-"
            )
            constant = counts[0] is not None and large is not None
            same = constant and counts[0].total == large.total  # type: ignore[union-attr]
            rows.append(
                [result.backend, REQUEST[kind], *figures, detail, "yes" if same else "**no**"]
            )
    return rows


def _statement_section(results: Sequence[BackendResult], plan: Plan) -> list[str]:
    small, large = plan.small_applications, plan.large_applications
    header = ["backend", "request", f"{small} apps", f"{large} apps"]
    header += [f"at {large} apps, by verb", "constant"]
    return [
        "### SQL statements per request",
        "",
        "Every statement the database received while the request and the work it caused ran "
        "(SQLAlchemy `before_cursor_execute`), one request after a warm-up of each kind, "
        "in-process through `standin.stack.LocalSlackStack`. SQLite counts its explicit "
        "`BEGIN`; PostgreSQL's is implicit in the driver.",
        "",
        *table(header, _statement_rows(results, plan)),
        "",
    ]


def _collapsed(statements: Sequence[str], width: int = 110) -> list[str]:
    """Statements in order, first `width` characters, runs of the same one shown once."""
    lines: list[str] = []
    previous, repeat = "", 0
    for statement in [*statements, ""]:
        text = " ".join(statement.split())[:width]
        if text == previous:
            repeat += 1
            continue
        if previous:
            lines.append(f"{previous}{f'  (x{repeat})' if repeat > 1 else ''}")
        previous, repeat = text, 1
    return lines


def _statement_details(results: Sequence[BackendResult], plan: Plan) -> list[str]:
    lines: list[str] = []
    for result in results:
        counts = result.statements.get(plan.large_applications, {})
        for kind in ("status", "list"):
            if kind not in counts:
                continue
            lines += [
                f"<details><summary>{result.backend}: the {counts[kind].total} statements of "
                f"one {REQUEST[kind]} at {plan.large_applications} applications</summary>",
                "",
                "```",
                *_collapsed(counts[kind].statements),
                "```",
                "</details>",
                "",
            ]
    return lines


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f} MiB"


def _memory_section(results: Sequence[BackendResult]) -> list[str]:
    rows = []
    for result in results:
        if result.latency is None:
            continue
        peaks = result.latency.peak_rss_kib
        rows.append([result.backend, _mib(peaks.get(PRODUCT_NAME)), _mib(peaks.get(FLOOR_NAME))])
    return [
        "### Peak resident memory of the server process",
        "",
        "`VmHWM` from `/proc/<pid>/status`, read after every request of the run.",
        "",
        *table(["backend", "hotfix-bot serve", "floor"], rows),
        "",
    ]


def _verdicts(result: BackendResult, plan: Plan) -> list[tuple[str, bool, str]]:
    verdicts: list[tuple[str, bool, str]] = []
    latency = result.latency
    if latency is not None:
        failed = [e for cell in latency.cells for e in cell.errors]
        verdicts.append(
            (
                "every request acknowledged and followed up (no error)",
                not failed,
                f"{len(failed)} failed of {sum(len(c.samples) for c in latency.cells)}",
            )
        )
    small = result.statements.get(plan.small_applications, {})
    large = result.statements.get(plan.large_applications, {})
    for kind in KINDS:
        if kind in small and kind in large:
            verdicts.append(
                (
                    f"statements of {REQUEST[kind]} constant in catalog size",
                    small[kind].total == large[kind].total,
                    f"{small[kind].total} at {plan.small_applications} apps, "
                    f"{large[kind].total} at {plan.large_applications}",
                )
            )
    figures = result.reminders
    if figures is not None and result.backend == "postgresql":
        verdicts.append(
            (
                f"{figures.count:,} due reminders claimed in under 5 s",
                figures.claim_seconds < 5.0,
                f"{figures.claim_seconds:.2f} s",
            )
        )
    if "status" in large:
        total = max(large["status"].total, small.get("status", large["status"]).total)
        verdicts.append(
            (
                f"at most {STATUS_STATEMENTS_TARGET} statements for `status`",
                total <= STATUS_STATEMENTS_TARGET,
                f"{total}",
            )
        )
    return verdicts


def _reminder_section(results: Sequence[BackendResult]) -> list[str]:
    rows = [
        [
            result.backend,
            f"{result.reminders.count:,}",
            f"{result.reminders.claim_seconds:.2f} s",
            f"{result.reminders.passes}",
            f"{result.reminders.statements}",
            f"{result.reminders.statements_per_reminder:.3f}",
            f"{result.reminders.send_seconds / result.reminders.send_sample * 1000:.1f} ms",
        ]
        for result in results
        if result.reminders is not None
    ]
    if not rows:
        return []
    return [
        "### Reminder sweep",
        "",
        "Due reminders (one red hotfix per application, each an hour overdue) claimed the way "
        f"the sweep claims them, {BATCH} per pass, until none is left "
        "(`commands.reminders.claim_due`: lease, then the snapshots the nudges need). Sending "
        "is apart: Slack paces posts (about one per second per channel), so the last column is "
        "the unpaced cost of one nudge through the real sweep and the local Web API, on a sample.",
        "",
        *table(
            [
                "backend",
                "due",
                "claimed in",
                "passes",
                "statements",
                "statements per reminder",
                "send, per nudge",
            ],
            rows,
        ),
        "",
    ]


def _targets_section(results: Sequence[BackendResult], plan: Plan) -> list[str]:
    rows = [
        [result.backend, target, "met" if met else "**missed**", figure]
        for result in results
        for target, met, figure in _verdicts(result, plan)
    ]
    return [
        "### Other checks",
        "",
        *table(["backend", "target", "verdict", "figure"], rows),
        "",
    ]


def _catalog_lines(results: Sequence[BackendResult]) -> list[str]:
    for result in results:
        if result.large is None:
            continue
        large = result.large
        red = len(large.red)
        rows = ", ".join(f"{name} {count:,}" for name, count in large.rows.items())
        return [
            f"Catalog under test: {large.size.applications} applications x {large.size.modules} "
            f"modules x 4 environments, {large.hotfixes:,} hotfixes of which {red} red "
            f"({len(large.propagating())} propagating, the rest open or awaiting approval). "
            f"Rows: {rows}. Seeded in {large.seconds:.1f} s ({result.backend}).",
            "",
        ]
    return []


def render(
    plan: Plan,
    machine: Sequence[tuple[str, str]],
    results: Sequence[BackendResult],
    command: str,
    when: datetime,
) -> str:
    lines = [
        "# Performance",
        "",
        f"Measured {when:%Y-%m-%d %H:%M} UTC with `{command}` ({plan.name} run: {plan.requests} "
        f"requests per cell, concurrency {' and '.join(map(str, plan.concurrencies))}, "
        f"HTTP_THREADS={plan.threads}). Regenerate it with `.venv/bin/python -m bench`.",
        "",
        "The load averages in *Machine* show how much other work shared the cores: the more, "
        "the higher and noisier the absolute figures; the floor is measured in the same run, "
        "under the same load, which is why the bars are ratios to it.",
        "",
    ]
    if plan.name != "full":
        lines += ["**A quick smoke run: too few requests for stable percentiles.**", ""]
    lines += ["## Machine", "", *table(["", ""], machine), "", *_method(plan)]
    lines += ["## Results", "", *_catalog_lines(results), *_issue_targets(results, plan)]
    for result in results:
        if result.skipped:
            lines += [f"### {result.backend}: not measured", "", result.skipped, ""]
            continue
        lines += [f"### Latency: {result.backend}", "", *_latency_section(result, plan)]
    lines += _statement_section(results, plan)
    lines += _memory_section(results)
    lines += _targets_section(results, plan)
    lines += _profile_section(results)
    lines += _reminder_section(results)
    lines += [
        "## Statement details",
        "",
        *_statement_details(results, plan),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _method(plan: Plan) -> list[str]:
    return [
        "## Method",
        "",
        "- **Server under test**: `python -m cli.main serve` (what `hotfix-bot serve` runs) in "
        "its own process, configured by environment variables, with `SLACK_API_URL` pointing at "
        "the local fake Slack Web API (`standin.web_api.FakeSlackWebApi`) running in the "
        "benchmark process; started once `GET /healthz` answers 200.",
        "- **Floor**: `bench/floor_app.py`, a bare Bolt app served the same way (waitress, the "
        "same thread count, the same signing secret, the same Bolt settings) whose listeners "
        "only `ack()`; measured in the same run with the same requests, "
        f"{plan.floor_requests} per cell so that its CPU per request is read over enough "
        "clock ticks.",
        "- **CPU per request**: the process's user + system CPU during the cell, less what the "
        "same process uses idle (measured over 10 s with no request, after the warm-up: its "
        "event loop and, for the product, its scheduled jobs) times the cell's length, divided "
        "by the requests. Without that, the idle CPU of the 20 ms waits at concurrency 1 would "
        "count as the floor's per-request cost and flatter every ratio.",
        "- **Requests**: signed the way Slack signs them (`standin.slack_client.SlackDriver`), "
        "over a new TCP connection each, from N worker threads in the benchmark process. Each "
        "worker runs a closed loop: send, read the ack, wait for the follow-up, send the next; "
        f"at concurrency 1 it first waits {plan.think_at_1 * 1000:.0f} ms (a person's next "
        "click does not come the instant the message changes; without it the next ack is "
        "timed against the tail of the previous request's work), for both servers alike. "
        "With no wait (the method of earlier reports), the floor acks back to back with warm "
        "caches in 0.4-0.7 ms, and the product's ack p50 at concurrency 1 was 2.5-4x the "
        "floor's (its follow-up work runs between its acks); the wait slows the floor's ack to "
        "about 1.7 ms and its CPU per request to about 1.1 ms, so the bars at concurrency 1 are "
        "met under this method and the CPU bars at concurrency 16, with no wait, are not. "
        "*Ack* is the HTTP response to Slack; *until the follow-up* ends when the "
        "`response_url` post (status, list) or the living message's `chat.update` (Merged) "
        "arrives at the fake Web API.",
        "- **Merged clicks**: on hotfixes seeded in the propagating state, each with a living "
        "message posted by the product's own deliverer; every click is on a different "
        "checklist item, never on the same hotfix twice in a row.",
        f"- **Catalog**: {plan.large_applications} applications seeded in bulk into the schema "
        "the migrations create (a fresh SQLite file, or a fresh PostgreSQL schema dropped at "
        "the end), then `ANALYZE`. Statements are also counted at "
        f"{plan.small_applications} applications. Each application has four hotfixes: two "
        "solved, one cancelled and one red. The issue asks for 1,000 red hotfixes among 2,000, "
        "but the rule *one unsolved hotfix per application* (a unique index) allows at most "
        f"{plan.large_applications} with {plan.large_applications} applications.",
        "- The latency catalog has no reminder rows due; the reminder sweep is measured on its "
        f"own database of {plan.due_reminders:,} overdue reminders (see *Reminder sweep*).",
        "- The machine has few cores: the benchmark client, the fake Web API and the server "
        "share them, which adds to every figure, the floor's included.",
        "",
    ]
