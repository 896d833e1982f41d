"""Serving the Bolt app over HTTP (waitress) or Socket Mode, plus `GET /healthz`."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.delivery import Deliverer
from commands import deployments
from commands.context import ServiceContext
from commands.health import database_answers

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
CALLBACK_PATH = "/deployments/callback"
MAX_CALLBACK_BYTES = 1_000_000

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(app: App, ctx: ServiceContext, deliverer: Deliverer | None = None) -> WsgiApp:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == CALLBACK_PATH and method == "POST" and deliverer is not None:
            return _deployment_callback(ctx, deliverer, environ, start_response)
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            healthy = database_answers(ctx)
            body = json.dumps({"database": "ok" if healthy else "unreachable"}).encode()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        return slack(environ, start_response)

    return application


def _deployment_callback(
    ctx: ServiceContext,
    deliverer: Deliverer,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
) -> Iterable[bytes]:
    """A CI pipeline reports a webhook deployment: signature checked, replays refused."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(min(length, MAX_CALLBACK_BYTES)) if length else b""
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    answer = deployments.receive_callback(ctx, headers, body, time.time())
    if answer.news is not None:
        deliverer.deliver(answer.news.work)
    payload = json.dumps({"ok": answer.status == 200, "message": answer.message}).encode()
    start_response(
        f"{answer.status} {HTTPStatus(answer.status).phrase}",
        [("Content-Type", "application/json")],
    )
    return [payload]


@dataclass
class RunningServer:
    """A waitress server on its own thread (the demo and the tests use the same path)."""

    server: Any
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=10)


def start_http(
    application: WsgiApp, host: str = "127.0.0.1", port: int = 0, threads: int = 8
) -> RunningServer:
    server = create_server(application, host=host, port=port, threads=threads, ident="hotfix-bot")
    thread = threading.Thread(target=_run, args=(server,), name="http", daemon=True)
    thread.start()
    return RunningServer(server, thread)


def _run(server: Any) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        # Closing the listening socket ends the loop this way.
        log.debug("http server stopped")
