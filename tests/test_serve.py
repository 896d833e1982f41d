"""`hotfix-bot serve` as an operator runs it: a real process, configured from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from standin.slack_client import SlackDriver
from standin.web_api import FakeSlackWebApi
from tests.conftest import EXAMPLE_CATALOG

SECRET = "0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_refuses_to_start_without_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr


def test_serve_answers_health_checks_and_slack(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/served.db"
    subprocess.run(
        [sys.executable, "-m", "cli.main", "catalog", "load", str(EXAMPLE_CATALOG)],
        env={**os.environ, "DATABASE_URL": database},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    with FakeSlackWebApi() as slack:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-served-1",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": database,
            "PORT": str(port),
            "HOST": "127.0.0.1",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        assert r.status == 200
                        break
                except OSError:
                    assert process.poll() is None, process.stdout.read() if process.stdout else ""
                    assert time.monotonic() < deadline, "the server did not come up"
                    time.sleep(0.1)
            driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, web_api=slack)
            reply = driver.slash_command("U0ANA", "open eCommerce Checkout Payment fails")
            assert reply.status == 200
            posted = slack.wait_for("chat.postMessage", timeout=10)
            assert posted[0].params["channel"] == "C0INCIDENT"
            assert driver.slash_command("U0ANA", "help", signature="forged").status == 401
        finally:
            process.terminate()
            process.wait(timeout=15)
