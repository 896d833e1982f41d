"""Server-side CPU of `/hotfix list` and `/hotfix status <app>`, in one process, with a profile.

Not a benchmark (`python -m bench` measures latency and CPU against the served process): like
scripts/profile_click.py, this drives the real Bolt app with slash commands signed the way
Slack signs them, handing the body straight to `App.dispatch` and running the listener's work
inline, over a catalog seeded as the benchmark seeds it (bench/seed.py, 500 applications by
default). The garbage collector is set as `serve` sets it (bot/heap.py) unless --default-gc.
CPU is this thread's clock inside the app; the reply to the response URL goes to the
fake Web API in this process, so the figure is an upper bound on the server's part.

    .venv/bin/python scripts/profile_reads.py [--applications 500] [--requests 40]
        [--command list|status] [--top 30] [--database URL] [--no-profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seed import CatalogSize, seed_catalog
from bot import dispatch
from bot.app import build_app
from bot.heap import settle_heap
from bot.settings import Settings
from commands.context import ServiceContext
from scripts.profile_click import SECRET, Inline, InProcessDriver
from standin.web_api import FakeSlackWebApi
from storage.setup import open_database

USER = "U0READER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=500)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--command", choices=["list", "status"], default="list")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--dump", help="also write the profile to this file (pstats)")
    parser.add_argument("--no-profile", action="store_true", help="only the CPU figure")
    parser.add_argument(
        "--default-gc", action="store_true", help="keep CPython's collector settings (serve's off)"
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="profile-reads-")
    url = args.database or f"sqlite:///{folder}/profile.db"
    database = open_database(url, upgrade=True)
    catalog = seed_catalog(database, CatalogSize(applications=args.applications))
    ctx = ServiceContext(database)
    with FakeSlackWebApi() as slack:
        client = WebClient(token="xoxb-profile", base_url=slack.base_url)
        settings = Settings(bot_token="xoxb-profile", signing_secret=SECRET, admins=frozenset())
        dispatch.ThreadPoolExecutor = lambda **_: Inline()  # type: ignore[assignment,misc]
        app, services = build_app(settings, ctx, client)
        driver: Any = InProcessDriver(app, slack)
        names = catalog.applications

        def text(n: int) -> str:
            return "list" if args.command == "list" else f"status {names[n % len(names)]}"

        assert driver.slash_command(USER, text(0)).status == 200  # warm-up (imports, caches)
        if not args.default_gc:
            settle_heap()  # as `serve` does once the app is built (bot/heap.py)
        half = max(1, args.requests // 2)
        driver.cpu = 0.0
        for n in range(half):
            assert driver.slash_command(USER, text(n + 1)).status == 200
        plain = driver.cpu / half
        profiled = 0.0
        if not args.no_profile:
            driver.profile = cProfile.Profile(time.thread_time)
            driver.cpu = 0.0
            for n in range(half):
                assert driver.slash_command(USER, text(n + half + 1)).status == 200
            profiled = driver.cpu / half
        services.deliverer.stop()
    print(
        f"{args.applications} applications, {half} `/hotfix {args.command}` requests: "
        f"server CPU per request {plain * 1000:.2f} ms"
        + ("" if args.no_profile else f" ({profiled * 1000:.2f} ms under the profiler)")
    )
    if driver.profile is not None:
        if args.dump:
            driver.profile.dump_stats(args.dump)
        pstats.Stats(driver.profile).sort_stats(args.sort).print_stats(args.top)
    database.engine.dispose()


if __name__ == "__main__":
    main()
