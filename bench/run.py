"""Run the benchmark: `python -m bench` (or `python bench/run.py`) [--quick] [--backend ...].

Writes docs/PERFORMANCE.md (a quick run writes only where --output says) and prints the same.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import machine
from bench.databases import BACKENDS, fresh_database, postgres_url, postgres_version
from bench.latency import log, measure_latency
from bench.plan import Plan
from bench.reminder_sweep import measure_reminder_claims
from bench.report import BackendResult, render
from bench.seed import CatalogSize, SeededCatalog, seed_catalog
from bench.statements import count_statements
from storage.setup import open_database

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "docs" / "PERFORMANCE.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument(
        "--threads", type=int, default=8, help="HTTP_THREADS of both servers (default 8)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"where to write the report (default {DEFAULT_OUTPUT.relative_to(REPO)}; "
        "a --quick run writes nothing unless given)",
    )
    return parser.parse_args(argv)


def _seeded(url: str, size: CatalogSize) -> SeededCatalog:
    database = open_database(url, upgrade=True)
    try:
        return seed_catalog(database, size)
    finally:
        database.engine.dispose()


def run_backend(backend: str, plan: Plan, folder: Path) -> BackendResult:
    started = time.perf_counter()
    result = BackendResult(backend)
    with (
        fresh_database(backend, folder, "small") as small_url,
        fresh_database(backend, folder, "large") as url,
    ):
        sizes = [
            CatalogSize(n, plan.modules, plan.hotfixes_per_application)
            for n in (plan.small_applications, plan.large_applications)
        ]
        result.small, result.large = _seeded(small_url, sizes[0]), _seeded(url, sizes[1])
        log(f"[{backend}] seeded {result.large.rows} in {result.large.seconds:.1f}s")
        reserved = result.large.propagating()[-2:]
        for size, catalog_url, catalog in (
            (plan.small_applications, small_url, result.small),
            (plan.large_applications, url, result.large),
        ):
            hotfixes = reserved if catalog is result.large else catalog.propagating()[-2:]
            result.statements[size] = count_statements(catalog_url, hotfixes)
            counts = {kind: c.total for kind, c in result.statements[size].items()}
            log(f"[{backend}] statements at {size} applications: {counts}")
        result.latency = measure_latency(url, result.large, reserved, plan, folder)
    with fresh_database(backend, folder, "reminders") as reminders_url:
        result.reminders = measure_reminder_claims(reminders_url, plan.due_reminders)
        log(
            f"[{backend}] claimed {result.reminders.count} due reminders in "
            f"{result.reminders.claim_seconds:.2f}s"
        )
    result.seconds = time.perf_counter() - started
    log(f"[{backend}] done in {result.seconds:.0f}s")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan.quick(args.threads) if args.quick else Plan.full(args.threads)
    output = args.output if args.output or args.quick else DEFAULT_OUTPUT
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    pg_version = postgres_version(postgres_url()) if "postgresql" in backends else None
    results: list[BackendResult] = []
    when = datetime.now(UTC)
    load_at_start = machine.load_average()
    with tempfile.TemporaryDirectory(prefix="hotfix-bench-") as folder:
        for backend in backends:
            if backend == "postgresql" and pg_version is None:
                message = f"PostgreSQL does not answer at {postgres_url()} (BENCH_DATABASE_URL)."
                if args.backend == "postgresql":
                    print(message, file=sys.stderr)
                    return 2
                results.append(BackendResult(backend, skipped=message))
                continue
            results.append(run_backend(backend, plan, Path(folder)))
    command = "python -m bench" + (" --quick" if args.quick else "")
    if args.backend != "both":
        command += f" --backend {args.backend}"
    load = [
        ("Load average at the start (1 / 5 / 15 min)", load_at_start),
        ("Load average at the end (1 / 5 / 15 min)", machine.load_average()),
    ]
    text = render(plan, [*machine.describe(pg_version), *load], results, command, when)
    print(text)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        log(f"written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
