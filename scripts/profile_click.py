"""Server-side CPU of Merged clicks, in one process, with a profile of where it goes.

Not a benchmark (`python -m bench` measures latency and CPU against the served process): this
drives the real Bolt app (`bot.app.build_app`) with clicks signed the way Slack signs them
(`standin.slack_client.SlackDriver`) against the fake Web API, handing the body straight to
`App.dispatch` instead of HTTP and running the listener's work inline, so `cProfile` sees all
of it. CPU time per click is `time.process_time()` over the clicks (the fake Web API and the
driver run in this process too, so the figure is an upper bound on the server's part).

    .venv/bin/python scripts/profile_click.py [--clicks 60] [--top 30] [--database URL]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
import urllib.request
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from slack_bolt import BoltRequest
from slack_sdk import WebClient

from bot import dispatch
from bot.app import build_app
from bot.ids import MERGED, ButtonValue
from bot.settings import Settings
from commands import applications, hotfixes
from commands.actors import Actor
from commands.context import ServiceContext
from standin.slack_client import Reply, SlackDriver
from standin.web_api import FakeSlackWebApi
from storage.setup import open_database

SECRET = "profile-signing-secret"
ADMIN = Actor("U0ADMIN", is_admin=True)
OWNER = "U0ANA"
CATALOG = Path(__file__).resolve().parent.parent / "examples" / "catalog.yaml"


class Inline:
    """An executor that runs the listener's work at once, in the caller's thread."""

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass


class InProcessDriver(SlackDriver):
    """SlackDriver whose requests go to `App.dispatch` rather than over HTTP."""

    def __init__(self, app: Any, web_api: FakeSlackWebApi) -> None:
        super().__init__("http://in-process/slack/events", SECRET, web_api=web_api)
        self.app = app
        self.profile: cProfile.Profile | None = None
        self.cpu = 0.0  # CPU seconds of this thread inside the app: the server's share

    def _send(self, request: urllib.request.Request, sent: Any) -> Reply:
        data = request.data
        assert isinstance(data, bytes)
        headers = {key.lower(): value for key, value in request.header_items()}
        started = time.thread_time()
        if self.profile is not None:
            self.profile.enable()
        response = self.app.dispatch(BoltRequest(body=data.decode(), headers=headers))
        if self.profile is not None:
            self.profile.disable()
        self.cpu += time.thread_time() - started
        return Reply(response.status, {}, response.body, None, 0.0, sent)


def merged_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory")]:
            if isinstance(element, dict) and str(element.get("action_id", "")).startswith(MERGED):
                found.append(element)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=60)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--dump", help="also write the profile to this file (pstats)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="profile-click-")
    url = args.database or f"sqlite:///{folder}/profile.db"
    database = open_database(url, upgrade=True)
    ctx = ServiceContext(database)
    applications.load_catalog(ctx, ADMIN, CATALOG)
    owner = Actor(OWNER)
    with FakeSlackWebApi() as slack:
        client = WebClient(token="xoxb-profile", base_url=slack.base_url)
        settings = Settings(bot_token="xoxb-profile", signing_secret=SECRET, admins=frozenset())
        dispatch.ThreadPoolExecutor = lambda **_: Inline()  # type: ignore[assignment,misc]
        app, services = build_app(settings, ctx, client)
        driver = InProcessDriver(app, slack)
        # Propagating hotfixes, each with its living message in its application's channel.
        clicks: list[tuple[str, str, str, str]] = []
        index = 0
        while len(clicks) < args.clicks:
            name = f"Profiled{index}"
            modules = [f"Module{m}" for m in range(8)]
            channel = f"C0PROF{index}"
            applications.add_application(ctx, ADMIN, name, modules, "1.0.0", home_channel=channel)
            applications.set_members(ctx, ADMIN, name, "owner", [OWNER])
            opened = hotfixes.open_hotfix(ctx, owner, name, modules, "down")
            services.deliverer.deliver(opened.work)
            ref = opened.hotfix.ref
            requested = hotfixes.request_deploy(ctx, owner, ref)
            services.deliverer.deliver(requested.work)
            if requested.hotfix.state.value != "propagating":
                services.deliverer.deliver(hotfixes.approve_deploy(ctx, ADMIN, ref).work)
            message = [m for m in slack.messages(channel) if not m.is_reply][-1]
            for button in merged_buttons(message.blocks):
                value = ButtonValue.decode(str(button["value"]))
                if value.environment == "Quality Assurance":
                    clicks.append(
                        (str(button["action_id"]), str(button["value"]), channel, message.ts)
                    )
            index += 1
        clicks = clicks[: args.clicks]
        # One warm-up click per process (imports, caches, the pipeline read once).
        first, clicks = clicks[0], clicks[1:]
        driver.block_action(OWNER, first[0], first[1], first[2], first[3])
        updates = len(slack.calls("chat.update"))
        driver.cpu = 0.0
        for action_id, value, channel, ts in clicks[: len(clicks) // 2]:
            assert driver.block_action(OWNER, action_id, value, channel, ts).status == 200
        plain = driver.cpu / (len(clicks) // 2)
        # Timed by this thread's CPU clock: waits on sockets and SQLite's file do not count.
        driver.profile = cProfile.Profile(time.thread_time)
        driver.cpu = 0.0
        profiled = clicks[len(clicks) // 2 :]
        for action_id, value, channel, ts in profiled:
            assert driver.block_action(OWNER, action_id, value, channel, ts).status == 200
        done = len(slack.calls("chat.update")) - updates
        services.deliverer.stop()
    print(f"{len(clicks)} Merged clicks, {done} living-message updates")
    print(
        f"server CPU per click: {plain * 1000:.2f} ms "
        f"({driver.cpu / len(profiled) * 1000:.2f} ms under the profiler)"
    )
    assert driver.profile is not None
    if args.dump:
        driver.profile.dump_stats(args.dump)
    stats = pstats.Stats(driver.profile)
    stats.sort_stats(args.sort).print_stats(args.top)
    database.engine.dispose()


if __name__ == "__main__":
    main()
