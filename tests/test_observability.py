"""Logs, metrics and health: what an operator sees of a running bot."""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot import ids, observe
from bot.logs import REDACTED, configure_logging
from bot.settings import Settings, SettingsError
from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from standin.slack_client import static_select, text_input
from standin.stack import LocalSlackStack
from storage.setup import open_database
from tests.bot_support import ANA, LEE, Bot, running
from tests.conftest import ADMIN, EXAMPLE_CATALOG
from tests.support import MovableClock

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Root logging as `serve` sets it with LOG_LEVEL=DEBUG LOG_FORMAT=json, into a buffer."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def parsed_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line must be one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def handled(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        if line["logger"] == "hotfix-bot.requests"
        and line["message"].startswith("handled")
        and line.get("kind") == kind
    ]


def counted(stream: io.StringIO) -> tuple[int, int]:
    """How many commands and clicks have their line yet."""
    lines = parsed_lines(stream)
    return len(handled(lines, "command")), len(handled(lines, "action"))


def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_json_logs_carry_one_request_id_from_the_ack_to_the_follow_up(
    ctx: ServiceContext, json_logs: io.StringIO
) -> None:
    with running(ctx) as bot:
        bot.command(ANA, "open eCommerce Checkout Payment fails")
        bot.wait_living("HF-1")
        # A click while the open's delivery still runs is sent by that delivery (the outbox
        # keeps one sender per hotfix), under the open's request id: click after it ended.
        wait_for(lambda: counted(json_logs) == (1, 0), "the command's line")
        bot.click(ANA, ids.DEPLOY)
        bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "approve button")
        wait_for(lambda: counted(json_logs) == (1, 1), "the command's and the click's lines")
    lines = parsed_lines(json_logs)

    (command,) = handled(lines, "command")
    assert command["name"] == "open"
    assert (command["team"], command["user"], command["channel"]) == (
        "T0HOTFIX",
        ANA,
        "C0INCIDENT",
    )
    assert command["hotfix"] == "HF-1"  # learnt from what the command published
    assert command["outcome"] == "ok"
    assert command["ms"] >= command["ack_ms"] >= 0
    (click,) = handled(lines, "action")
    assert (click["name"], click["hotfix"], click["outcome"]) == (ids.DEPLOY, "HF-1", "ok")
    assert command["request_id"] != click["request_id"]

    for request in (command, click):
        same = [line for line in lines if line["request_id"] == request["request_id"]]
        (ack,) = [line for line in same if line["message"].startswith("acknowledged")]
        # The ack is answered on the HTTP thread, the work runs on the listener pool. The ack's
        # line is written after Slack has its answer (on the pool), and names the answering
        # thread.
        assert ack["acked_on"] != request["thread"]
        assert not ack["acked_on"].startswith("listener")
        assert ack["message"].endswith(f"on {ack['acked_on']}")
        assert request["thread"].startswith("listener")
        slack_calls = [line["message"] for line in same if line["logger"] == "hotfix-bot.slack"]
        assert slack_calls, f"no Slack call logged under {request['request_id']}"
        assert all("-> ok" in call for call in slack_calls)
    own = [line for line in lines if line["request_id"] == command["request_id"]]
    assert any("chat.postMessage" in line["message"] for line in own)


def test_a_refused_command_is_one_line_with_outcome_refused(
    ctx: ServiceContext, json_logs: io.StringIO
) -> None:
    with running(ctx) as bot:
        bot.command(ANA, "solve HF-99")
        bot.wait_private(ANA, "HF-99")
        wait_for(lambda: bool(handled(parsed_lines(json_logs), "command")), "the line")
    (line,) = handled(parsed_lines(json_logs), "command")
    assert (line["name"], line["hotfix"], line["outcome"]) == ("solve", "HF-99", "refused")
    assert line["level"] == "INFO"


def test_secrets_and_slack_tokens_never_reach_a_log_line() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    secret = "lifetime-0123456789-secret"
    try:
        configure_logging("INFO", "text", [secret, None], stream=stream)
        log = logging.getLogger("tests.secrets")
        log.info("calling with %s", secret)
        log.warning("a token from elsewhere: xoxb-123-456-abcdefghij")
        try:
            raise RuntimeError(f"bad token {secret}")
        except RuntimeError:
            log.exception("failed")
        configure_logging("INFO", "json", [secret], stream=stream)
        log.error("json too: %s", secret)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    output = stream.getvalue()
    assert secret not in output
    assert "xoxb-123" not in output
    assert output.count(REDACTED) == 4  # the message, the token, the exception, the json line


def test_routine_lines_of_each_scheduler_run_and_readiness_probe_are_debug() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    executor = logging.getLogger("apscheduler.executors.default")
    try:
        configure_logging("INFO", "text", stream=stream)
        executor.info('Running job "reminder-sweep"')
        executor.warning("Run time of job was missed")
        configure_logging("DEBUG", "text", stream=stream)
        executor.info('Job "reminder-sweep" executed successfully')
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert "WARNING apscheduler.executors.default" in lines[0]
    assert "DEBUG apscheduler.executors.default" in lines[1] and "executed" in lines[1]
    assert "DEBUG alembic.runtime.migration" in lines[2]


# metrics ---------------------------------------------------------------------------------------


def scrape(url: str) -> Samples:
    """`/metrics`, read with prometheus_client's own text parser."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        page = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_parse_and_move_with_a_slash_command_and_a_click(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    with running(ctx) as bot:
        assert bot.stack.server is not None
        url = bot.stack.server.url
        before = scrape(url)
        assert value(before, "hotfix_bot_red_hotfixes", severity="high") == 0
        bot.command(ANA, "open eCommerce Checkout Payment fails")
        bot.wait_living("HF-1")
        bot.click(ANA, ids.DEPLOY)
        bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "approve button")
        bot.command(ANA, "solve HF-99")
        bot.wait_private(ANA, "HF-99")

        def moved() -> bool:
            now = scrape(url)
            return all(
                value(now, "hotfix_bot_requests_total", kind=kind, outcome=outcome)
                == value(before, "hotfix_bot_requests_total", kind=kind, outcome=outcome) + 1
                for kind, outcome in [("command", "ok"), ("action", "ok"), ("command", "refused")]
            )

        wait_for(moved, "the request counters")
        clock.advance(minutes=10)
        after = scrape(url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hotfix_bot_ack_seconds_count", kind="command") == 2
    assert grew("hotfix_bot_ack_seconds_count", kind="action") == 1
    assert grew("hotfix_bot_follow_up_seconds_count", kind="action") == 1
    assert grew("hotfix_bot_ack_seconds_bucket", kind="action", le="+Inf") == 1
    assert grew("hotfix_bot_slack_api_calls_total", method="chat.postMessage", status="ok") >= 2
    assert grew("hotfix_bot_slack_api_calls_total", method="chat.update", status="ok") >= 1
    severity = queries.hotfix_status(ctx, "HF-1").severity
    assert value(after, "hotfix_bot_red_hotfixes", severity=severity) == 1
    assert sum(v for (n, _), v in after.items() if n == "hotfix_bot_red_hotfixes") == 1
    oldest = value(after, "hotfix_bot_oldest_red_hotfix_age_seconds", severity=severity)
    assert 600 <= oldest < 3600
    assert value(after, "hotfix_bot_oldest_red_hotfix_age_seconds", severity="low") == 0


def test_slack_retries_are_counted_by_method(ctx: ServiceContext) -> None:
    with running(ctx) as bot:
        assert bot.stack.server is not None
        before = scrape(bot.stack.server.url)
        bot.slack.fail_next("chat.postMessage", status=429, retry_after=0)
        bot.command(ANA, "open eCommerce Checkout Payment fails")
        bot.wait_living("HF-1")
        method = {"method": "chat.postMessage"}
        retries = value(before, "hotfix_bot_slack_api_retries_total", **method)
        url = bot.stack.server.url
        # The stand-in shows the message a moment before the client reads its answer.
        wait_for(
            lambda: value(scrape(url), "hotfix_bot_slack_api_retries_total", **method) > retries,
            "the retry counted",
        )
        after = scrape(url)
    assert value(after, "hotfix_bot_slack_api_retries_total", **method) == retries + 1
    limited = {**method, "status": "http_429"}
    assert value(after, "hotfix_bot_slack_api_calls_total", **limited) == (
        value(before, "hotfix_bot_slack_api_calls_total", **limited) + 1
    )


# health ----------------------------------------------------------------------------------------


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_readyz_goes_503_when_the_schema_falls_behind_and_when_the_database_stops(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ready.db"
    database = open_database(f"sqlite:///{path}", upgrade=True)
    ctx = ServiceContext(database)
    applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG)
    with LocalSlackStack(ctx, sweep_seconds=3600) as stack:
        assert stack.server is not None
        url = stack.server.url
        status, answer = get(f"{url}/readyz")
        assert (status, answer["ready"]) == (200, True), answer
        assert set(answer["checks"].values()) == {"ok"}
        assert set(answer["checks"]) == {"database", "schema", "scheduler", "slack_auth"}

        with database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        status, answer = get(f"{url}/readyz")
        assert status == 503
        assert answer["checks"]["schema"].startswith("behind the code")

        database.engine.dispose()
        for leftover in tmp_path.glob("ready.db*"):
            leftover.unlink()
        path.write_bytes(b"this is not a database " * 100)
        status, answer = get(f"{url}/readyz")
        assert status == 503
        assert answer == {
            "ready": False,
            "checks": {
                "database": "unreachable",
                "schema": "unknown",
                "scheduler": "ok",
                "slack_auth": "ok",
            },
        }
        assert get(f"{url}/healthz") == (200, {"alive": True})
    database.engine.dispose()


def test_readyz_says_when_slack_rejects_the_token(ctx: ServiceContext) -> None:
    with LocalSlackStack(ctx, sweep_seconds=3600) as stack:
        assert stack.server is not None and stack.services is not None
        stack.slack.fail_next("auth.test", error="invalid_auth")
        status, answer = get(f"{stack.server.url}/readyz")
        assert status == 503
        assert answer["checks"]["slack_auth"] == "rejected: invalid_auth"
        status, answer = get(f"{stack.server.url}/readyz")
        assert status == 200, answer  # checked again until Slack once accepts it


def test_readyz_wants_the_scheduler_running(ctx: ServiceContext) -> None:
    with running(ctx) as bot:  # no scheduler started
        assert bot.stack.server is not None
        status, answer = get(f"{bot.stack.server.url}/readyz")
    assert status == 503
    assert answer["checks"]["scheduler"] == "not started"


def test_a_full_flow_is_one_request_line_each(ctx: ServiceContext, json_logs: io.StringIO) -> None:
    """Open, Tag & Deploy, approve: three requests, three lines, each with its own id."""
    with running(ctx) as bot:
        flow(bot)
        wait_for(lambda: counted(json_logs) == (1, 2), "the lines of a command and two clicks")
    lines = parsed_lines(json_logs)
    requests = handled(lines, "command") + handled(lines, "action")
    assert [r["name"] for r in requests] == ["open", ids.DEPLOY, ids.APPROVE]
    assert len({r["request_id"] for r in requests}) == 3


def flow(bot: Bot) -> None:
    bot.command(ANA, "open eCommerce Checkout Payment fails")
    bot.wait_living("HF-1")
    bot.click(ANA, ids.DEPLOY)
    bot.wait_until(lambda: ids.APPROVE in bot.buttons(), "approve button")
    bot.click(LEE, ids.APPROVE)
    bot.wait_until(lambda: ids.MERGED in bot.buttons(), "merge buttons")


def test_a_modal_refusal_shown_on_its_form_is_counted_as_refused(
    ctx: ServiceContext, json_logs: io.StringIO
) -> None:
    with running(ctx) as bot:
        bot.command(ANA, "open")
        bot.slack.wait_for("views.open")
        reply = bot.driver.view_submission(
            ANA,
            ids.OPEN_MODAL,
            {
                ids.APPLICATION_INPUT[0]: {ids.APPLICATION_INPUT[1]: static_select("eCommerce")},
                ids.MODULES_INPUT[0]: {ids.MODULES_INPUT[1]: text_input("Chekout")},
                ids.SUMMARY_INPUT[0]: {ids.SUMMARY_INPUT[1]: text_input("Payment fails")},
                ids.SEVERITY_INPUT[0]: {ids.SEVERITY_INPUT[1]: static_select("high")},
            },
        )
        assert reply.json["response_action"] == "errors"
        wait_for(lambda: bool(handled(parsed_lines(json_logs), "view_submission")), "the line")
    (line,) = handled(parsed_lines(json_logs), "view_submission")
    assert (line["name"], line["user"], line["outcome"]) == (ids.OPEN_MODAL, ANA, "refused")
    assert line["ack_ms"] is not None


def test_log_settings_are_read_and_checked() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123456789abcdef"}
    default = Settings.from_environment(base)
    assert (default.log_level, default.log_format) == ("INFO", "text")
    chosen = Settings.from_environment({**base, "LOG_LEVEL": "debug", "LOG_FORMAT": "JSON"})
    assert (chosen.log_level, chosen.log_format) == ("DEBUG", "json")
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment({**base, "LOG_LEVEL": "loud", "LOG_FORMAT": "xml"})
    assert "LOG_LEVEL is malformed: 'LOUD'" in str(refused.value)
    assert "LOG_FORMAT is malformed: 'xml'" in str(refused.value)


def test_a_payload_of_unknown_shape_still_gets_a_request_id() -> None:
    odd = observe.of_slack({"type": "block_actions", "user": {"id": "U0ANA"}, "actions": "?"})
    assert (odd.kind, odd.name) == ("unknown", "")
    assert odd.id
    click = observe.of_slack(
        {
            "type": "block_actions",
            "user": {"id": "U0ANA"},
            "team": {"id": "T0HOTFIX"},
            "container": {"channel_id": "C0INCIDENT"},
            "actions": [{"action_id": "hotfix_merged:3", "value": "hf7|qa|Checkout"}],
        }
    )
    assert (click.kind, click.name, click.hotfix, click.channel) == (
        "action",
        "hotfix_merged",
        "HF-7",
        "C0INCIDENT",
    )


def test_reminders_are_counted_sent_failed_and_escalated(
    ctx: ServiceContext, clock: MovableClock
) -> None:
    def counted(result: str) -> float:
        return REGISTRY.get_sample_value("hotfix_bot_reminders_total", {"result": result}) or 0.0

    before = {result: counted(result) for result in ("sent", "failed", "escalated")}
    with LocalSlackStack(ctx) as stack:
        assert stack.services is not None
        sweeper = stack.services.sweeper
        opened = hotfixes.open_hotfix(ctx, Actor(ANA), "eCommerce", ["Checkout"], "Payment fails")
        stack.services.deliverer.deliver(opened.work)  # the living message, before any nudge
        clock.advance(minutes=30)
        # The first nudge's DM cannot be opened, for good (the second one goes).
        stack.slack.fail_next("conversations.open", error="cannot_dm_bot")
        reports = [sweeper.sweep()]
        while not reports[-1].escalated and len(reports) < 5:
            clock.advance(minutes=30)
            reports.append(sweeper.sweep())
    assert len(reports[0].nudged) == 2
    assert reports[-1].escalated == ["HF-1"]
    recorded = sum(len(report.nudged) for report in reports)
    assert recorded >= 4
    assert counted("sent") == before["sent"] + recorded - 1
    assert counted("failed") == before["failed"] + 1
    assert counted("escalated") == before["escalated"] + 1
