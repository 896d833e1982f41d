"""A stand-in CI/CD pipeline for the webhook deployer: it receives signed deploy events and
reports results back to the bot's `/deployments/callback`, signed the same way."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from commands.deployers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify


@dataclass(frozen=True)
class ReceivedEvent:
    body: dict[str, Any]
    signature_valid: bool


class FakeCiPipeline:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: list[ReceivedEvent] = []
        self.answer_status = 202
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Self:
        pipeline = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                try:
                    verify(pipeline.secret, headers, body, time.time())
                    valid = True
                except Exception:
                    valid = False
                with pipeline._cond:
                    pipeline.events.append(ReceivedEvent(json.loads(body or b"{}"), valid))
                    pipeline._cond.notify_all()
                self.send_response(pipeline.answer_status if valid else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/hotfix"

    def wait_for_event(self, count: int = 1, timeout: float = 10.0) -> ReceivedEvent:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.events) >= count, timeout):
                raise TimeoutError(f"the pipeline received {len(self.events)} event(s)")
            return self.events[count - 1]

    def report(
        self,
        callback_url: str,
        deployment_id: str,
        status: str,
        *,
        log: list[str] | None = None,
        info: str = "",
        secret: str | None = None,
        timestamp: float | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], bytes, dict[str, str]]:
        """POST a signed result; returns (status, answer, body sent, headers sent)."""
        body = (
            raw
            or json.dumps(
                {"deployment_id": deployment_id, "status": status, "log": log or [], "info": info}
            ).encode()
        )
        sent = headers or signed_headers(secret or self.secret, body, timestamp)
        request = urllib.request.Request(callback_url, data=body, headers=sent, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}"), body, sent
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}"), body, sent


__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "FakeCiPipeline", "ReceivedEvent"]
