"""The floor: a bare Bolt app whose listeners only ack(), served like `hotfix-bot serve`.

Same Bolt settings as the product (a Web API client on SLACK_API_URL, the signing secret,
process_before_response on, as bot/app.py sets it), same WSGI adapter, same waitress server
and thread count, read from the same environment variables. Run: ``python -m bench.floor_app``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

EVENTS_PATH = "/slack/events"
ANY_BUTTON = re.compile(r"^hotfix_\w+(:\d+)?$")


def build_floor_app(token: str, signing_secret: str, api_url: str) -> App:
    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        process_before_response=True,
        logger=logging.getLogger("floor.bolt"),
    )

    def only_ack(ack: Ack) -> None:
        ack()

    app.command("/hotfix")(only_ack)
    app.action(ANY_BUTTON)(only_ack)
    return app


def wsgi(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"floor": "ok"}']
        return slack(environ, start_response)

    return application


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    env = os.environ
    app = build_floor_app(env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"], env["SLACK_API_URL"])
    server = create_server(
        wsgi(app),
        host=env.get("HOST", "127.0.0.1"),
        port=int(env["PORT"]),
        threads=int(env.get("HTTP_THREADS", "8")),
        ident="floor",
    )
    server.run()


if __name__ == "__main__":
    main()
