"""`hotfix-bot serve` with LOG_LEVEL=DEBUG LOG_FORMAT=json, as an operator runs it: every log
line parses, no configured secret appears in any of them, and the probes and metrics answer on
PORT in HTTP mode and in Socket Mode."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bot import ids
from standin.slack_client import SlackDriver
from standin.socket_mode import FakeSocketMode
from standin.web_api import FakeSlackWebApi
from tests.bot_support import find_button
from tests.conftest import EXAMPLE_CATALOG
from tests.test_serve import SECRET, free_port

INCIDENT = "C0INCIDENT"


def configured_secrets() -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-observed-" + secrets.token_hex(8),
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": "xapp-1-A0HOTFIX-1-" + secrets.token_hex(8),
        "LIFETIME_TOKEN": "lt-" + secrets.token_hex(16),
        "DEPLOY_WEBHOOK_SECRET": "wh-" + secrets.token_hex(16),
    }


def loaded_database(tmp_path: Path) -> str:
    database = f"sqlite:///{tmp_path}/observed.db"
    subprocess.run(
        [sys.executable, "-m", "cli.main", "catalog", "load", str(EXAMPLE_CATALOG)],
        env={**os.environ, "DATABASE_URL": database},
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return database


@contextmanager
def serving(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[Path]:
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", *args],
            env={**os.environ, "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json", **env},
            cwd=tmp_path,
            stdout=output,
            stderr=output,
        )
        try:
            wait_for(
                lambda: _answers(f"http://127.0.0.1:{env['PORT']}/healthz") == 200,
                "the server",
                check_alive=lambda: process.poll() is None or _died(log),
                timeout=30,
            )
            yield log
        finally:
            process.terminate()
            process.wait(timeout=15)


def _died(log: Path) -> bool:
    raise AssertionError("serve exited:\n" + log.read_text()[-3000:])


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def wait_for(
    check: Callable[[], bool],
    what: str,
    timeout: float = 15.0,
    check_alive: Callable[[], bool] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if check_alive is not None:
            check_alive()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def readiness(port: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def requests_counted(port: str, kind: str, outcome: str = "ok") -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        page = response.read().decode()
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "hotfix_bot_requests_total" and sample.labels == {
                "kind": kind,
                "outcome": outcome,
            }:
                return float(sample.value)
    return 0.0


def check_log(log: Path, configured: dict[str, str]) -> list[dict[str, Any]]:
    text = log.read_text()
    for name, secret in configured.items():
        assert secret not in text, f"{name} appears in the log"
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines, "nothing was logged"
    return lines


def test_serve_http_full_flow_logs_json_without_secrets(tmp_path: Path) -> None:
    configured = configured_secrets()
    port = str(free_port())
    with FakeSlackWebApi() as slack:
        env = {
            **configured,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": loaded_database(tmp_path),
            "PORT": port,
            "HOST": "127.0.0.1",
        }
        with serving(tmp_path, env) as log:
            wait_for(lambda: readiness(port)[0] == 200, "readiness")
            driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", SECRET, web_api=slack)

            def click(user: str, action: str) -> None:
                message = [m for m in slack.messages(INCIDENT) if not m.is_reply][-1]
                button = find_button(message.blocks, action)
                reply = driver.block_action(
                    user, button["action_id"], button.get("value", ""), INCIDENT, message.ts
                )
                assert reply.status == 200

            def shows(action: str) -> bool:
                messages = [m for m in slack.messages(INCIDENT) if not m.is_reply]
                return bool(messages) and action in json.dumps(messages[-1].blocks)

            assert driver.slash_command("U0ANA", "open eCommerce Checkout Fails").status == 200
            wait_for(lambda: shows(ids.DEPLOY), "the living message")
            click("U0ANA", ids.DEPLOY)
            wait_for(lambda: shows(ids.APPROVE), "the approve button")
            click("U0LEE", ids.APPROVE)
            wait_for(lambda: shows(ids.MERGED), "the merge buttons")
            wait_for(lambda: requests_counted(port, "action") == 2, "two clicks counted")
            assert requests_counted(port, "command") == 1
    lines = check_log(log, configured)
    handled = [line for line in lines if line["message"].startswith("handled")]
    # Each line is written when its request's work ends (the open's after its living message
    # is delivered), so a click may be logged before the open: compare as a multiset.
    names = sorted(line["name"] for line in handled)
    assert names == sorted(["open", ids.DEPLOY, ids.APPROVE])
    assert all(line["team"] == "T0HOTFIX" and line["hotfix"] == "HF-1" for line in handled)
    levels = {line["level"] for line in lines}
    assert "DEBUG" in levels and "INFO" in levels


def test_socket_mode_serves_health_readiness_and_metrics_on_port(tmp_path: Path) -> None:
    configured = configured_secrets()
    port = str(free_port())
    with FakeSlackWebApi() as slack, FakeSocketMode(slack) as socket_mode:
        env = {
            **configured,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": loaded_database(tmp_path),
            "PORT": port,
            "HOST": "127.0.0.1",
        }
        with serving(tmp_path, env, "--socket-mode") as log:
            status, answer = readiness(port)
            assert status in (200, 503) and set(answer["checks"]) == {
                "database",
                "schema",
                "scheduler",
                "slack_auth",
            }
            wait_for(lambda: readiness(port)[0] == 200, "readiness")
            assert requests_counted(port, "command") == 0
            socket_mode.wait_for_connection()
            socket_mode.send(
                "slash_commands",
                {
                    "token": "t",
                    "team_id": "T0HOTFIX",
                    "channel_id": INCIDENT,
                    "user_id": "U0ANA",
                    "command": "/hotfix",
                    "text": "open eCommerce Checkout Payment fails",
                    "trigger_id": "trigger-socket-1",
                    "response_url": slack.new_response_url(INCIDENT, "U0ANA"),
                },
            )
            slack.wait_for("chat.postMessage", timeout=15)
            wait_for(lambda: requests_counted(port, "command") == 1, "the command counted")
            assert _answers(f"http://127.0.0.1:{port}/slack/events") == 404
    lines = check_log(log, configured)
    (line,) = [line for line in lines if line["message"].startswith("handled command")]
    assert (line["name"], line["hotfix"], line["outcome"]) == ("open", "HF-1", "ok")
