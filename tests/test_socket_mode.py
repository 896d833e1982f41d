"""`hotfix-bot serve --socket-mode`: the same app over Socket Mode, against a local stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from standin.socket_mode import FakeSocketMode
from standin.web_api import FakeSlackWebApi
from tests.conftest import EXAMPLE_CATALOG
from tests.test_serve import SECRET, free_port


def test_socket_mode_receives_a_slash_command_and_acts(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/socket.db"
    subprocess.run(
        [sys.executable, "-m", "cli.main", "catalog", "load", str(EXAMPLE_CATALOG)],
        env={**os.environ, "DATABASE_URL": database},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    with FakeSlackWebApi() as slack, FakeSocketMode(slack) as socket_mode:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--socket-mode"],
            env={
                **os.environ,
                "SLACK_BOT_TOKEN": "xoxb-socket-1",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_APP_TOKEN": "xapp-1-A0HOTFIX-1-secret",
                "SLACK_API_URL": slack.base_url,
                "DATABASE_URL": database,
                "PORT": str(free_port()),  # the probes and metrics listen here
                "HOST": "127.0.0.1",
            },
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            socket_mode.wait_for_connection()
            ack = socket_mode.send(
                "slash_commands",
                {
                    "token": "t",
                    "team_id": "T0HOTFIX",
                    "channel_id": "C0INCIDENT",
                    "user_id": "U0ANA",
                    "command": "/hotfix",
                    "text": "open eCommerce Checkout Payment fails",
                    "trigger_id": "trigger-socket-1",
                    "response_url": slack.new_response_url("C0INCIDENT", "U0ANA"),
                },
            )
            assert "envelope_id" in ack
            posted = slack.wait_for("chat.postMessage", timeout=15)
            assert posted[0].params["channel"] == "C0INCIDENT"
            assert "HF-1" in posted[0].params["text"]
            opened = [c for c in slack.calls("apps.connections.open")]
            assert opened and opened[0].ok
        finally:
            process.terminate()
            code = process.wait(timeout=30)
        assert code == 0, "SIGTERM stops Socket Mode gracefully (exit 0)"
