"""The `hotfix-bot` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_CATALOG


def hotfix_bot(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "HOTFIX_CLI_USER": "U0ADMIN"}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_catalog_load_status_and_operations(database_url: str, tmp_path: Path) -> None:
    run = lambda *a: hotfix_bot(*a, database_url=database_url, cwd=tmp_path)  # noqa: E731
    upgrade = run("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    from storage.migrate import head_revision

    assert upgrade.stdout.strip() == f"database schema: empty -> {head_revision()}"

    loaded = run("catalog", "load", str(EXAMPLE_CATALOG))
    assert loaded.returncode == 0, loaded.stderr
    assert "created: eCommerce, Back Office" in loaded.stdout
    assert (
        "unchanged: eCommerce, Back Office" in run("catalog", "load", str(EXAMPLE_CATALOG)).stdout
    )

    opened = run("open", "eCommerce", "Checkout", "Payment", "fails", "--severity", "critical")
    assert opened.returncode == 0, opened.stderr
    assert "HF-1 · eCommerce · Payment fails" in opened.stdout
    assert "Pre-Production      1.7.0+" in opened.stdout

    status = run("status", "hf-1")
    assert "Next: test the fix in Pre-Production, then Tag & Deploy 1.7.1" in status.stdout
    overview = run("status")
    assert "1 red hotfix(es)" in overview.stdout and "Back Office" in overview.stdout

    refused = run("merged", "HF-1", "qa", "Checkout")
    assert refused.returncode == 1
    assert "refused: HF-1 is not deployed to Production yet" in refused.stderr
    assert "refused" in run("open", "eCommerce", "Nope", "x").stderr


def test_bad_catalog_exits_non_zero_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("applications:\n  - name: Shop\n    modules: A\n    versions: {prod: x}\n")
    result = hotfix_bot(
        "catalog", "load", str(bad), database_url=f"sqlite:///{tmp_path}/c.db", cwd=tmp_path
    )
    assert result.returncode == 1
    assert f"{bad}:4: applications[0].versions.prod: 'x' is not a version" in result.stderr


def test_demo_plays_the_seed_scenario_to_solved(tmp_path: Path) -> None:
    result = hotfix_bot("demo", database_url="sqlite:///unused.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout
    # It drives the real server: signed requests in, Web API calls out, rendered as text.
    assert "Slack got HTTP 200" in output
    assert output.index("[ Tag & Deploy 1.7.1 ]") < output.index("[ Approve ]")
    assert "another person must approve it (four eyes)" in output
    assert "bot sent a direct message to @U0ANA" in output and "[ Snooze 1h ]" in output
    assert "no reminders for 1h" in output
    assert output.index("[ Merged ]") < output.index("[ Mark Hotfix as Solved ]")
    assert "solved by @U0RAJ" in output
    assert output.rstrip().endswith("Demo finished: HF-1 is solved.")
    assert not (tmp_path / "unused.db").exists(), "the demo must not touch DATABASE_URL"


@pytest.mark.parametrize("args", [["status", "HF-x1"], ["deploy", "HF-9"]])
def test_unknown_things_exit_non_zero(args: list[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    hotfix_bot("catalog", "load", str(EXAMPLE_CATALOG), database_url=url, cwd=tmp_path)
    result = hotfix_bot(*args, database_url=url, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("refused:")


def test_catalog_reload_dry_run_and_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    run = lambda *a: hotfix_bot(*a, database_url=url, cwd=tmp_path)  # noqa: E731
    assert run("catalog", "load", str(EXAMPLE_CATALOG)).returncode == 0
    assert run("open", "eCommerce", "Checkout", "Payment", "fails").returncode == 0
    assert run("deploy", "HF-1").returncode == 0
    approved = run("approve", "HF-1", "--as", "U0LEE")
    assert approved.returncode == 0, approved.stderr

    reload = run("catalog", "load", str(EXAMPLE_CATALOG))
    assert reload.returncode == 0, reload.stderr
    assert "unchanged: eCommerce, Back Office" in reload.stdout
    assert "eCommerce Production: kept 1.7.1 (the file says 1.7.0)" in reload.stdout
    backward = run("catalog", "load", "--set-versions", str(EXAMPLE_CATALOG))
    assert backward.returncode == 1
    assert "refused: eCommerce has the unsolved hotfix HF-1" in backward.stderr

    changed = tmp_path / "changed.yaml"
    changed.write_text(EXAMPLE_CATALOG.read_text().replace("owners: [U0RAJ]", "owners: [U0ANA]"))
    dry = run("catalog", "load", "--dry-run", str(changed))
    assert dry.returncode == 0, dry.stderr
    assert "would be updated: Back Office" in dry.stdout
    assert "Back Office: owners U0RAJ → U0ANA" in dry.stdout
    assert dry.stdout.rstrip().endswith("dry run: nothing was written")
    # Nothing was written: the same change is still to be made.
    assert (
        "Back Office: owners U0RAJ → U0ANA"
        in run("catalog", "load", "--dry-run", str(changed)).stdout
    )

    exported = tmp_path / "exported.yaml"
    assert run("catalog", "export", str(exported)).returncode == 0
    assert "prod: 1.7.1" in exported.read_text()
    again = run("catalog", "load", str(exported))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "unchanged: eCommerce, Back Office"
    assert run("catalog", "export").stdout == exported.read_text()
