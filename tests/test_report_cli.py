"""`hotfix-bot report`, run as a user runs it, against a database with a seeded history."""

from __future__ import annotations

import struct
from datetime import timedelta
from pathlib import Path

from commands import applications
from commands.context import ServiceContext, utc_now
from commands.report_chart import HEIGHT_PX, WIDTH_PX
from storage.setup import open_database
from tests.conftest import ADMIN, EXAMPLE_CATALOG
from tests.report_history import seed_history
from tests.support import MovableClock
from tests.test_cli import hotfix_bot


def test_report_prints_the_figures_and_draws_the_chart(database_url: str, tmp_path: Path) -> None:
    database = open_database(database_url, upgrade=True)
    # The CLI reads the real clock: the history ends a few hours before now.
    clock = MovableClock(utc_now() - timedelta(days=22))
    ctx = ServiceContext(database, clock)
    applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG)
    seed_history(ctx, clock)
    database.engine.dispose()

    out = tmp_path / "report.png"
    run = hotfix_bot(
        "report", "--days", "30", "--out", str(out), database_url=database_url, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert "Hotfixes, all applications, last 30 days" in run.stdout
    assert "Opened: 6 · reached Production: 5 · solved: 4" in run.stdout
    assert "Production → solved: median 4 h, 90th percentile 10 h" in run.stdout
    assert "Oldest red: HF-6 (eCommerce, A defect)" in run.stdout
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (WIDTH_PX, HEIGHT_PX)

    one = hotfix_bot("report", "Back Office", database_url=database_url, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "Hotfixes, Back Office, last 90 days" in one.stdout and "Opened: 2" in one.stdout

    bad = hotfix_bot("report", "--days", "zero", database_url=database_url, cwd=tmp_path)
    assert bad.returncode == 1 and "refused: 'zero' is not a number of days" in bad.stderr
