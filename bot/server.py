"""Serving the Bolt app over HTTP (waitress) or Socket Mode, plus `/healthz`, `/readyz` and
`/metrics` (in Socket Mode on a small HTTP server of their own)."""

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
from bot.health import Health
from commands import deployments
from commands.context import ServiceContext

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
CALLBACK_PATH = "/deployments/callback"
MAX_CALLBACK_BYTES = 1_000_000

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(
    app: App,
    ctx: ServiceContext,
    deliverer: Deliverer | None = None,
    health: Health | None = None,
) -> WsgiApp:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    probes = health or Health(ctx, app.client)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == CALLBACK_PATH and method == "POST" and deliverer is not None:
            return _deployment_callback(ctx, deliverer, environ, start_response)
        if path in PROBE_PATHS and method == "GET":
            return _probe(probes, str(path), start_response)
        return slack(environ, start_response)

    return application


PROBE_PATHS = ("/healthz", "/readyz", "/metrics")


def probes_app(health: Health) -> WsgiApp:
    """Only the probes and metrics: what Socket Mode serves on PORT."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path in PROBE_PATHS and method == "GET":
            return _probe(health, str(path), start_response)
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [json.dumps({"ok": False, "message": "not found"}).encode()]

    return application


def _probe(health: Health, path: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
    if path == "/metrics":
        page, content_type = health.metrics_page()
        start_response("200 OK", [("Content-Type", content_type)])
        return [page]
    if path == "/readyz":
        ready, checks = health.readiness()
        status = "200 OK" if ready else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps({"ready": ready, "checks": checks}).encode()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"alive": True}).encode()]


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


def start_probes(health: Health, host: str, port: int) -> RunningServer:
    """Socket Mode has no HTTP server of its own: the probes and metrics get this one on PORT."""
    server = start_http(probes_app(health), host=host, port=port, threads=2)
    log.info("serving /healthz, /readyz and /metrics on http://%s:%s", host, server.port)
    return server
