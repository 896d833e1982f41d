"""Two `serve` replicas on PostgreSQL, the seeds' flow on many hotfixes, `kill -9` at random
moments, Slack faults; then the database and what Slack shows are compared.

Nothing here is timed for speed: it counts what was lost, doubled or shown wrongly.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot import views
from commands import applications, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.lifecycle import HotfixState
from standin.databases import empty_database
from standin.slack_client import SlackDriver
from standin.web_api import FakeSlackWebApi
from storage.models import ACTIVE_HOTFIX_STATES, Outbox
from storage.setup import open_database

SECRET = "0123456789abcdef0123456789abcdef"
ADMIN = Actor("U0ADMIN", is_admin=True)
OWNERS = ("U0ANA", "U0RAJ")
APPROVER = "U0LEE"
INCIDENT = "C0INCIDENT"
REMINDED_LINE = "⏰ Reminded "  # bot/views/nudges.py's thread line of a reminder round
# The seeds' flow, as `/hotfix` commands (who types them, what they say).
FLOW: tuple[tuple[str, str], ...] = (
    ("U0ANA", "deploy {ref}"),
    (APPROVER, "click:hotfix_approve"),  # approving is a button only
    ("U0RAJ", "merged {ref} qa Core"),
    ("U0ANA", "merged {ref} qa Edge"),
    ("U0RAJ", "merged {ref} dev Core"),
    ("U0ANA", "merged {ref} dev Edge"),
    ("U0RAJ", "solve {ref}"),
)


@dataclass
class Report:
    started: datetime
    quick: bool
    hotfixes: int = 0
    commands_sent: int = 0
    commands_unanswered: int = 0
    operations_applied: int = 0
    kills: int = 0
    restarts: int = 0
    slack_faults: int = 0
    living_messages: int = 0
    living_differing: list[str] = field(default_factory=list)
    messages_doubled: list[str] = field(default_factory=list)
    deliveries_twice: list[str] = field(default_factory=list)
    read_backs: int = 0  # reads of Slack before sending a row an earlier delivery took
    undelivered: int = 0
    reminders_lost: list[str] = field(default_factory=list)
    reminders_doubled: list[str] = field(default_factory=list)
    reminder_dms: int = 0  # nudges Slack posted: with none, the two checks above had nothing
    reminder_escalations: int = 0
    invariants_broken: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Replica:
    def __init__(self, name: str, url: str, slack: FakeSlackWebApi, folder: Path) -> None:
        self.name, self.url, self.slack, self.folder = name, url, slack, folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-chaos-1",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.slack.base_url,
            "DATABASE_URL": self.url,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "OUTBOX_SWEEP_SECONDS": "0.5",
            "OUTBOX_LEASE_SECONDS": "5",
            "OUTBOX_MAX_BACKOFF_SECONDS": "2",
            "REMINDER_SWEEP_SECONDS": "1",
            # Short enough that hotfixes get nudged (and escalated) during their flow, so the
            # reminder checks below have rounds to count.
            "REMINDER_OPEN_EVERY": "3s",
            "REMINDER_APPROVAL_EVERY": "3s",
            "REMINDER_PROPAGATING_EVERY": "3s",
            "SHUTDOWN_GRACE": "5",
        }
        log = open(self.folder / f"{self.name}.log", "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve"],
            env=env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"replica {self.name} did not come up (see {self.folder})")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    @property
    def driver(self) -> SlackDriver:
        return SlackDriver(f"http://127.0.0.1:{self.port}/slack/events", SECRET, web_api=self.slack)


def run(quick: bool, postgres_url: str, out: Path) -> Report:
    rng = random.Random(10)
    report = Report(started=datetime.now(UTC), quick=quick)
    apps = 6 if quick else 24
    kills_wanted = 10 if quick else 60
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="chaos-") as folder,
        empty_database("postgresql", Path(folder), postgres_url, label="chaos") as url,
        FakeSlackWebApi() as slack,
    ):
        database = open_database(url, upgrade=True)
        ctx = ServiceContext(database)
        for index in range(apps):
            name = f"Chaos{index}"
            applications.add_application(
                ctx, ADMIN, name, ["Core", "Edge"], "1.0.0", home_channel=f"C0CHAOS{index}"
            )
            applications.set_members(ctx, ADMIN, name, "owner", list(OWNERS))
            applications.set_members(ctx, ADMIN, name, "approver", [APPROVER])
        replicas = [Replica(name, url, slack, Path(folder)) for name in ("a", "b")]
        for replica in replicas:
            replica.start()
        # Every application walks the flow; commands go to a random living replica.
        plans = {
            f"Chaos{i}": [("U0ANA", f"open Chaos{i} Core,Edge Down in production")]
            for i in range(apps)
        }
        step_of: dict[str, int] = {name: 0 for name in plans}
        ref_of: dict[str, str] = {}
        next_kill = time.monotonic() + rng.uniform(0.3, 1.5)
        while any(step_of[name] <= len(FLOW) for name in plans) or report.kills < kills_wanted:
            if time.monotonic() >= next_kill and report.kills < kills_wanted:
                victim = rng.choice(replicas)
                victim.kill()
                report.kills += 1
                if rng.random() < 0.3:
                    slack.fail_next(rng.choice(["chat.postMessage", "chat.update"]), times=3)
                    report.slack_faults += 1
                victim.start()
                report.restarts += 1
                next_kill = time.monotonic() + rng.uniform(0.2, 1.2)
            waiting = [name for name in plans if step_of[name] <= len(FLOW)]
            if not waiting:
                time.sleep(0.05)
                continue
            name = rng.choice(waiting)
            ref = ref_of.get(name) or _ref_of(ctx, name)
            if ref is not None:
                ref_of[name] = ref
            if step_of[name] == 0:
                user, text = plans[name][0]
            else:
                if ref is None:
                    step_of[name] = 0
                    continue
                user, template = FLOW[step_of[name] - 1]
                text = template.format(ref=ref)
            if _send(rng.choice(replicas), slack, user, text, ref):
                report.commands_sent += 1
            else:
                report.commands_unanswered += 1
            time.sleep(0.05)
            step_of[name] = _progress(ctx, name, ref_of.get(name) or _ref_of(ctx, name))
        slack.heal()  # Slack heals; what is still undelivered must now arrive
        _settle(ctx, slack, report)
        for replica in replicas:
            replica.stop()
        _check(ctx, slack, report)
        report.hotfixes = len(ref_of)
        database.engine.dispose()
    report.seconds = time.monotonic() - began
    write_report(report, out)
    return report


def _send(replica: Replica, slack: FakeSlackWebApi, user: str, text: str, ref: str | None) -> bool:
    try:
        if text.startswith("click:"):
            return _click(replica, slack, user, text.removeprefix("click:"), ref or "")
        return replica.driver.slash_command(user, text, channel_id=INCIDENT).status == 200
    except OSError:
        return False  # killed meanwhile: the person types it again


def _click(replica: Replica, slack: FakeSlackWebApi, user: str, action: str, ref: str) -> bool:
    """Click a button of the hotfix's living message in #incident, as it shows now."""
    for message in reversed(slack.messages(INCIDENT)):
        if f" {ref} · " not in message.text:
            continue
        for block in message.blocks or []:
            for element in block.get("elements", []) or []:
                if str(element.get("action_id", "")).startswith(action):
                    reply = replica.driver.block_action(
                        user, element["action_id"], element.get("value", ""), INCIDENT, message.ts
                    )
                    return reply.status == 200
    return False  # not shown yet: the person waits for the message


def _ref_of(ctx: ServiceContext, application: str) -> str | None:
    _, hotfix = queries.application_status(ctx, application)
    return hotfix.ref if hotfix is not None else None


def _progress(ctx: ServiceContext, application: str, ref: str | None) -> int:
    """Where the application's hotfix stands in FLOW, from the database (the truth)."""
    if ref is None:
        return 0
    hotfix = queries.hotfix_status(ctx, ref)
    if hotfix.state is HotfixState.OPEN:
        return 1
    if hotfix.state is HotfixState.AWAITING_APPROVAL:
        return 2
    if hotfix.state is HotfixState.PROPAGATING:
        done = sum(1 for item in hotfix.checklist if item.status.value != "pending")
        return 3 + done
    return len(FLOW) + 1  # solved


def _settle(ctx: ServiceContext, slack: FakeSlackWebApi, report: Report) -> None:
    """Up to a minute for every living message to show the database and the outbox to empty."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with ctx.db.read() as repository:
            pending = [row for row in repository.outbox_rows() if row.delivered_at is None]
        if not pending and not _differing(ctx, slack):
            return
        time.sleep(0.5)


def _differing(ctx: ServiceContext, slack: FakeSlackWebApi) -> list[str]:
    wrong = []
    with ctx.db.read() as repository:
        refs = [f"HF-{hotfix.id}" for hotfix in repository.hotfixes_by_ids(range(1, 10_000))]
    for ref in refs:
        hotfix = queries.hotfix_status(ctx, ref)
        expected = views.fallback_text(hotfix)
        for channel in {m.channel for m in hotfix.messages} | {hotfix.home_channel or ""} - {""}:
            shown = [m.text for m in slack.messages(channel) if f" {ref} · " in m.text]
            if shown != [expected]:
                wrong.append(f"{ref} in {channel}: {len(shown)} message(s)")
    return wrong


def _check(ctx: ServiceContext, slack: FakeSlackWebApi, report: Report) -> None:
    with ctx.db.read() as repository:
        hotfixes = repository.hotfixes_by_ids(range(1, 10_000))
        rows = repository.outbox_rows()
        reminders = {h.id: repository.reminder(h.id or 0) for h in hotfixes}
        report.operations_applied = sum(len(repository.events(h.id or 0)) for h in hotfixes)
        checklists = repository.checklists(h.id for h in hotfixes if h.id is not None)
        active = Counter(h.application_id for h in hotfixes if h.state in ACTIVE_HOTFIX_STATES)
    report.undelivered = sum(1 for row in rows if row.delivered_at is None)
    # A reminder round is recorded in the outbox with the reminder's advance: one that was
    # recorded but never sent is lost as surely as a reminder row that vanished.
    report.reminders_lost += [
        f"HF-{row.hotfix_id} {row.kind} to {row.channel} never sent"
        for row in rows
        if row.kind in ("nudge", "escalation") and row.delivered_at is None
    ]
    report.living_differing = _differing(ctx, slack)
    report.living_messages = sum(
        len(slack.messages(channel))
        for channel in {f"C0CHAOS{i}" for i in range(len(hotfixes) + 1)} | {INCIDENT}
    )
    reminded: Counter[tuple[str, str]] = Counter()
    for hotfix in hotfixes:
        ref = f"HF-{hotfix.id}"
        for channel in (INCIDENT, f"C0CHAOS{hotfix.application_id - 1}"):
            parents = [m for m in slack.messages(channel) if f" {ref} · " in m.text]
            if len(parents) > 1:
                report.messages_doubled.append(f"{ref} in {channel}: {len(parents)}")
            for parent in parents:
                rows_of: dict[object, list[str]] = {}
                for reply in slack.thread(channel, parent.ts):
                    if reply.ts == parent.ts:
                        continue
                    if reply.text.startswith(REMINDED_LINE):
                        # Rounds a few seconds apart read the same: counted against their rows.
                        reminded[(ref, channel)] += 1
                        continue
                    payload = (reply.metadata or {}).get("event_payload") or {}
                    # The outbox row a copy names: one row shown twice is one delivery sent
                    # twice (a line without metadata is keyed by its text).
                    key = payload.get("outbox") or reply.text
                    rows_of.setdefault(key, []).append(reply.text)
                report.deliveries_twice += [
                    f"{ref} in {channel}: {texts[0][:60]!r} x{len(texts)} (outbox row {row})"
                    for row, texts in rows_of.items()
                    if len(texts) > 1
                ]
        red = hotfix.state in ("open", "awaiting_approval", "deploying", "propagating")
        if red and reminders.get(hotfix.id) is None:
            report.reminders_lost.append(ref)
        if not red and reminders.get(hotfix.id) is not None:
            report.invariants_broken.append(f"{ref} is {hotfix.state} but still has a reminder")
        items = checklists.get(hotfix.id or 0, [])
        if hotfix.state == "solved" and any(item.status == "pending" for item in items):
            report.invariants_broken.append(f"{ref} solved with items pending")
        if hotfix.state == "propagating" and not hotfix.deployed_version:
            report.invariants_broken.append(f"{ref} propagating without a deployed version")
    report.invariants_broken += [
        f"application {app} has {n} unsolved hotfixes" for app, n in active.items() if n > 1
    ]
    _check_reminder_doubles(slack, rows, reminded, report)


def _check_reminder_doubles(
    slack: FakeSlackWebApi,
    rows: list[Outbox],
    reminded: Counter[tuple[str, str]],
    report: Report,
) -> None:
    """Each nudge, escalation and reminder thread line is one outbox row, recorded with the
    reminder's advance: Slack showing more of them than there are rows is a double. (A row
    dropped unsent, its hotfix solved first, could hide one: the check errs towards passing.)"""
    recorded = Counter(
        (f"HF-{row.hotfix_id}", row.kind, row.channel)
        for row in rows
        if row.kind in ("nudge", "escalation", "reminded")
    )
    users = {slack.dm_channel(user): user for user in (*OWNERS, APPROVER)}
    posted = [
        (call.params.get("channel"), str(call.params.get("text")), call.params.get("thread_ts"))
        for call in slack.calls("chat.postMessage")
        # Posted, not attempted: a 500 the client retried is one message, not two.
        if call.ok
    ]
    shown: Counter[tuple[str, str, str]] = Counter()
    for channel, text, thread in posted:
        if channel in users and text.startswith("⏰ "):
            shown[(text.removeprefix("⏰ ").split(" · ")[0], "nudge", users[channel])] += 1
        elif text.startswith("🚨 ") and not thread:
            ref = text.split("*HF-", 1)[1].split("*", 1)[0]
            shown[(f"HF-{ref}", "escalation", str(channel))] += 1
    shown.update({(ref, "reminded", channel): n for (ref, channel), n in reminded.items()})
    report.reminders_doubled = [
        f"{ref} {kind} to {to}: {n} shown, {recorded[(ref, kind, to)]} recorded"
        for (ref, kind, to), n in sorted(shown.items())
        if n > recorded[(ref, kind, to)]
    ]
    report.reminder_dms = sum(n for (_, kind, _), n in shown.items() if kind == "nudge")
    report.reminder_escalations = sum(
        n for (_, kind, _), n in shown.items() if kind == "escalation"
    )
    # Any other direct message (none is expected in this flow) must not repeat either.
    others = Counter(
        (channel, text)
        for channel, text, _ in posted
        if str(channel).startswith("D") and not text.startswith("⏰ ")
    )
    report.reminders_doubled += [f"{c} {t!r:.60} x{n}" for (c, t), n in others.items() if n > 1]
    report.read_backs = sum(
        1
        for call in slack.calls()
        if call.method in ("conversations.history", "conversations.replies")
        and str(call.params.get("include_all_metadata")).lower() in ("1", "true")
    )


def write_report(report: Report, out: Path) -> None:
    def line(label: str, value: object, want: str = "") -> str:
        return f"| {label} | {value} | {want} |"

    mode = "--quick" if report.quick else "full"
    rows = [
        line("hotfixes driven through the seeds' flow", report.hotfixes),
        line(
            "`/hotfix` commands answered / unanswered (replica killed)",
            f"{report.commands_sent} / {report.commands_unanswered}",
        ),
        line("operations applied (audit events)", report.operations_applied),
        line("`kill -9` of a replica (each restarted)", report.kills),
        line("Slack faults injected (bursts of 500s)", report.slack_faults),
        line("living messages differing from the database", len(report.living_differing), "0"),
        line("living messages posted twice", len(report.messages_doubled), "0"),
        line("thread lines sent twice", len(report.deliveries_twice), "0"),
        line(
            "reads of Slack before sending a row again (its metadata looked up)", report.read_backs
        ),
        line("outbox rows undelivered at the end", report.undelivered, "0"),
        line("reminders lost", len(report.reminders_lost), "0"),
        line("reminder DMs posted (through the outbox)", report.reminder_dms),
        line("escalations posted (through the outbox)", report.reminder_escalations),
        line("reminder DMs, escalations, thread lines doubled", len(report.reminders_doubled), "0"),
        line("domain invariants broken", len(report.invariants_broken), "0"),
    ]
    details = [
        *report.living_differing,
        *report.messages_doubled,
        *report.deliveries_twice,
        *report.reminders_lost,
        *report.reminders_doubled,
        *report.invariants_broken,
    ]
    text = "\n".join(
        [
            "# Reliability: the chaos run",
            "",
            f"`python -m chaos{' --quick' if report.quick else ''}` ({mode}), "
            f"{report.started:%Y-%m-%d %H:%M} UTC, {report.seconds:.0f} s. Two `hotfix-bot serve` "
            "replicas on one PostgreSQL, the Slack stand-in with injected faults; the seeds' "
            "flow (open, Tag & Deploy, approve, merge QA and Development, solve) typed by three "
            "people against a random replica while one replica at a time is killed with "
            "SIGKILL and restarted. At the end Slack heals and the run waits up to a minute, "
            "then compares what Slack shows with the database.",
            "",
            "| what | count | must be |",
            "| --- | --- | --- |",
            *rows,
            "",
            "A thread line or a first post sent right before a SIGKILL and not yet recorded is "
            "looked up in Slack by the next process (by the message metadata naming its outbox "
            "row) and recorded instead of sent again: the reads above are those look-ups.",
            "",
            *(["## Findings", "", *[f"- {d}" for d in details], ""] if details else []),
        ]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None, runner: Callable[..., Report] = run) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="6 hotfixes, 10 kills")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server URL (default: TEST_DATABASE_URL); a fresh schema is used",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/RELIABILITY.md"))
    options = parser.parse_args(argv)
    if not options.database_url or not options.database_url.startswith("postgresql"):
        parser.error("two replicas need PostgreSQL: --database-url or TEST_DATABASE_URL")
    report = runner(options.quick, options.database_url, options.out)
    bad = (
        len(report.living_differing)
        + len(report.messages_doubled)
        + len(report.deliveries_twice)
        + report.undelivered
        + len(report.reminders_lost)
        + len(report.reminders_doubled)
        + len(report.invariants_broken)
    )
    print(options.out.read_text())
    return 1 if bad else 0
