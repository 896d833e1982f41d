"""Two `hotfix-bot serve` processes on one PostgreSQL send each reminder exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from commands import applications, hotfixes
from commands.actors import Actor
from commands.context import ServiceContext, utc_now
from standin.web_api import FakeSlackWebApi
from storage.setup import open_database
from tests.conftest import ADMIN
from tests.support import POSTGRES_URL, fresh_database_url
from tests.test_serve import SECRET, free_port

OWNERS = [f"U0OWNER{index}" for index in range(6)]


@pytest.mark.skipif(not POSTGRES_URL, reason="several replicas need PostgreSQL (TEST_DATABASE_URL)")
def test_two_serving_processes_nudge_each_owner_once(tmp_path: Path) -> None:
    with fresh_database_url("postgresql", tmp_path) as url:
        database = open_database(url, upgrade=True)
        an_hour_ago = utc_now() - timedelta(hours=1)
        past = ServiceContext(database, clock=lambda: an_hour_ago)
        for index, owner in enumerate(OWNERS):
            name = f"Replica{index}"
            applications.add_application(past, ADMIN, name, ["Core"], "1.0.0")
            applications.set_members(past, ADMIN, name, "owner", [owner])
            hotfixes.open_hotfix(past, Actor(owner), name, ["Core"], "down", severity="critical")
        database.engine.dispose()  # every reminder is now 30 minutes overdue

        with FakeSlackWebApi() as slack:
            processes = [
                subprocess.Popen(
                    [sys.executable, "-m", "cli.main", "serve"],
                    env={
                        **os.environ,
                        "SLACK_BOT_TOKEN": "xoxb-replica-1",
                        "SLACK_SIGNING_SECRET": SECRET,
                        "SLACK_API_URL": slack.base_url,
                        "DATABASE_URL": url,
                        "PORT": str(free_port()),
                        "HOST": "127.0.0.1",
                        "REMINDER_SWEEP_SECONDS": "0.2",
                    },
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(2)
            ]
            try:
                dms = {slack.dm_channel(owner): owner for owner in OWNERS}
                deadline = time.monotonic() + 60

                def nudged() -> list[str]:
                    return [
                        dms[c.params["channel"]]
                        for c in slack.calls("chat.postMessage")
                        if c.params.get("channel") in dms
                    ]

                while len(nudged()) < len(OWNERS) and time.monotonic() < deadline:
                    assert all(p.poll() is None for p in processes), "a server died"
                    time.sleep(0.1)
                time.sleep(2.0)  # ten more sweeps by each process: nothing new may be sent
                assert sorted(nudged()) == sorted(OWNERS)
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(timeout=15)
