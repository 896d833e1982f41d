"""A fake Slack Web API served over real HTTP on 127.0.0.1, for ``slack_sdk.WebClient``.

Usage::

    with FakeSlackWebApi() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        slack.wait_for("chat.postMessage")

Every call is recorded (once answered, so the workspace model already reflects it when
:meth:`FakeSlackWebApi.wait_for` returns). The same server also receives ``response_url``
posts (see :meth:`FakeSlackWebApi.new_response_url`), recorded under the method name
``"response_url"``.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standin.files import StoredFile
from standin.serving import LoopbackServer
from standin.workspace import (
    JSON,
    ApiError,
    EphemeralMessage,
    Message,
    Workspace,
)

logger = logging.getLogger(__name__)

RESPONSE_URL_METHOD = "response_url"
UPLOAD_METHOD = "upload_url"  # POSTs to an upload URL from files.getUploadURLExternal
UPLOAD_PATH = "/upload/v1/"
BOT_SCOPES = (
    "chat:write,commands,im:write,users:read,chat:write.public,files:write,"
    "channels:history,groups:history,im:history,mpim:history"
)
_JSON_STRING_FIELDS = ("blocks", "view", "attachments", "metadata")
_HTTP_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake received: Web API method (or ``"response_url"``) and its params."""

    method: str
    params: dict[str, Any]
    at: float
    token: str | None = None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Failure:
    status: int
    retry_after: int
    error: str | None
    remaining: int


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: JSON
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # a plain-text body instead of JSON (the upload URL answers so)


class _Server(ThreadingHTTPServer):
    fake: FakeSlackWebApi


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake slack: " + format, *args)

    def _serve(self) -> None:
        arrived = time.monotonic()
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        fake = self.server.fake
        if url.path.startswith("/api/"):
            auth = self.headers.get("Authorization")
            answer = fake._serve_api(url.path[5:], content_type, body, url.query, auth, arrived)
        elif url.path.startswith("/response/"):
            answer = fake._serve_response_url(url.path[10:], body, arrived)
        elif url.path.startswith(UPLOAD_PATH) and self.command == "POST":
            answer = fake._serve_upload(url.path[len(UPLOAD_PATH) :], content_type, body, arrived)
        else:
            answer = _Answer(404, {"ok": False, "error": "not_found"})
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        content_type = "application/json; charset=utf-8"
        data = json.dumps(answer.payload).encode()
        if answer.text is not None:
            data, content_type = answer.text.encode(), "text/plain; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def parse_params(content_type: str, body: bytes, query: str) -> JSON:
    """Merge query string and body (form-encoded or JSON) the way the Slack Web API does.

    Raises :class:`ApiError` (``invalid_json`` / ``invalid_form_data``) on bodies it can't read.
    Fields that carry JSON as a string (``blocks``, ``view``...) are decoded.
    """
    params: JSON = _flatten(parse_qs(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json":
        params.update(_json_object(body))
    elif media_type in {"application/x-www-form-urlencoded", ""}:
        params.update(_flatten(parse_qs(body.decode(), keep_blank_values=True)))
    else:
        raise ApiError("invalid_form_data")
    for name in _JSON_STRING_FIELDS:
        if name in params:
            params[name] = _maybe_json(params[name])
    return params


def _flatten(values: dict[str, list[str]]) -> JSON:
    return {key: items[-1] for key, items in values.items()}


def _json_object(body: bytes) -> JSON:
    if not body:
        return {}
    try:
        loaded = json.loads(body)
    except ValueError as exc:
        raise ApiError("invalid_json") from exc
    if not isinstance(loaded, dict):
        raise ApiError("invalid_json")
    return loaded


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in {"[", "{"}:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


class FakeSlackWebApi(LoopbackServer):
    """Fake Slack Web API over HTTP, with call recording, a workspace model and fault injection.

    ``token``: when given, only that token is accepted (others get ``invalid_auth``); otherwise any
    ``xox...`` token is. ``on_call`` is called (outside the lock, in the server thread) with each
    :class:`RecordedCall`. ``workspace`` holds identity settings (team id, bot user id...).
    """

    name = "fake-slack-web-api"

    def __init__(
        self,
        *,
        token: str | None = None,
        on_call: Callable[[RecordedCall], None] | None = None,
        workspace: Workspace | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.on_call = on_call
        self.workspace = workspace or Workspace()
        super().__init__(host, port)
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[RecordedCall] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, float] = {}

    # ------------------------------------------------------------ lifecycle

    def _build_server(self, address: tuple[str, int]) -> _Server:
        server = _Server(address, _Handler)
        server.fake = self
        host, port = server.server_address[:2]
        # Upload URLs point back at this server, so nothing ever reaches files.slack.com.
        self.workspace.upload_url_base = f"http://{host!s}:{port}{UPLOAD_PATH}"
        return server

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` expects: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}/api/"

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    # -------------------------------------------------------------- records

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> RecordedCall:
        """The latest call of ``method``; raises :class:`LookupError` if there is none."""
        with self._cond:
            found = self.calls(method)
            if not found:
                raise LookupError(f"no {method} call; received: {self._summary()}")
            return found[-1]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
        count: int = 1,
    ) -> list[RecordedCall]:
        """Block until at least ``count`` calls of ``method`` match ``predicate``; return them all.

        Raises :class:`TimeoutError` naming the methods received so far.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matching = [c for c in self.calls(method) if predicate is None or predicate(c)]
                remaining = deadline - time.monotonic()
                if len(matching) >= count:
                    return matching
                if remaining <= 0:
                    raise TimeoutError(
                        f"timed out after {timeout}s waiting for {count} {method} call(s)"
                        f"{' matching the predicate' if predicate else ''}; "
                        f"{len(matching)} matched; received: {self._summary()}"
                    )
                self._cond.wait(remaining)

    def reset(self) -> None:
        """Forget calls, messages, views, injected failures and delays (user settings stay)."""
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self._delays.clear()
            self.workspace.clear()
            self._cond.notify_all()

    def heal(self) -> None:
        """Slack answers normally again: injected failures and delays end; nothing is forgotten."""
        with self._cond:
            self._failures.clear()
            self._delays.clear()

    def _summary(self) -> str:
        counts = Counter(
            c.method if c.ok else f"{c.method}[{c.response.get('error') or c.status}]"
            for c in self._calls
        )
        if not counts:
            return "nothing"
        return ", ".join(name if n == 1 else f"{name} x{n}" for name, n in counts.items())

    # ----------------------------------------------------------- workspace

    def uploaded_files(self) -> list[StoredFile]:
        """Files uploaded through files.getUploadURLExternal, with the bytes that arrived."""
        with self._cond:
            return self.workspace.uploaded_files()

    def messages(self, channel: str, *, include_replies: bool = False) -> list[Message]:
        """Current messages of ``channel`` in post order (thread replies only if asked)."""
        with self._cond:
            return self.workspace.messages(channel, include_replies=include_replies)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Replies in the thread whose parent is ``ts``."""
        with self._cond:
            return self.workspace.thread(channel, ts)

    def message(self, channel: str, ts: str) -> Message | None:
        with self._cond:
            found = self.workspace.find_message(channel, ts)
            return copy.deepcopy(found)

    def ephemeral_messages(
        self, channel: str | None = None, user: str | None = None
    ) -> list[EphemeralMessage]:
        with self._cond:
            return self.workspace.ephemeral_messages(channel, user)

    def home_view(self, user_id: str) -> JSON | None:
        """The Home tab last published for ``user_id``."""
        with self._cond:
            return self.workspace.home_view(user_id)

    def view(self, view_id: str) -> JSON | None:
        with self._cond:
            return self.workspace.view(view_id)

    def latest_view(self, callback_id: str, user_id: str | None = None) -> JSON | None:
        """The latest modal opened or updated with ``callback_id``."""
        with self._cond:
            return self.workspace.latest_view(callback_id, user_id)

    def dm_channel(self, user_id: str) -> str:
        """The ``D...`` channel ``conversations.open`` returns for ``user_id``."""
        with self._cond:
            return self.workspace.dm_channel(user_id)

    def set_user_timezone(
        self, user_id: str, tz_name: str, offset_seconds: int | None = None
    ) -> None:
        """Set what ``users.info`` reports; the offset defaults to the zone's current one."""
        with self._cond:
            self.workspace.set_user_timezone(user_id, tz_name, offset_seconds)

    def close_to_bot(self, channel: str, error: str = "channel_not_found") -> None:
        """Make ``channel`` one the bot cannot post in (see Workspace.close_to_bot)."""
        with self._cond:
            self.workspace.close_to_bot(channel, error)

    def set_user_name(self, user_id: str, real_name: str) -> None:
        with self._cond:
            self.workspace.user(user_id).real_name = real_name

    def post_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> str:
        """Seed a message written by a human (the bot can't update it); returns its ts."""
        with self._cond:
            ts = self.workspace.next_ts()
            self.workspace.add_message(Message(channel, ts, text, [], user, thread_ts=thread_ts))
            return ts

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger id valid for 3 seconds and one ``views.open``."""
        with self._cond:
            return self.workspace.issue_trigger(user_id)

    def new_response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        """A response_url served by this fake; ``message_ts`` is what replace_original edits."""
        with self._cond:
            url_id = self.workspace.issue_response_url(channel, user, message_ts)
        return f"{self.url}/response/{url_id}"

    # ------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        With ``error``: HTTP 200 ``{"ok": false, "error": error}``. Otherwise HTTP ``status``
        (500, 503, or 429 with a ``Retry-After: retry_after`` header).
        """
        if error is None and status < 400:
            raise ValueError("status must be an HTTP error status (e.g. 500 or 429)")
        failure = _Failure(status, retry_after, error, times)
        with self._cond:
            self._failures.setdefault(method, deque()).append(failure)

    def delay(self, method: str, seconds: float) -> None:
        """Make ``method`` answer after ``seconds`` (0 removes the delay)."""
        with self._cond:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    # -------------------------------------------------------------- serving

    def _serve_api(
        self,
        method: str,
        content_type: str,
        body: bytes,
        query: str,
        authorization: str | None,
        arrived: float,
    ) -> _Answer:
        with self._cond:
            pause = self._delays.get(method, 0.0)
        if pause:
            time.sleep(pause)
        token = _bearer(authorization)
        with self._cond:  # answer and record atomically: calls() order == model order
            try:
                params = parse_params(content_type, body, query)
            except ApiError as exc:
                params, answer = {}, _error(exc.error)
            else:
                token = token or params.pop("token", None)
                answer = self._answer(method, params, token)
            call = self._record(
                RecordedCall(method, params, arrived, token, answer.status, answer.payload)
            )
        self._notify_hook(call)
        return answer

    def _answer(self, method: str, params: JSON, token: str | None) -> _Answer:
        if not token:
            return _error("not_authed")
        app_level = method == "apps.connections.open" and token.startswith("xapp-")
        if not app_level and ((self.token and token != self.token) or not token.startswith("xox")):
            return _error("invalid_auth")
        failure = self._take_failure(method)
        if failure is not None:
            return _failed(failure)
        try:
            result = self.workspace.handle(method, copy.deepcopy(params))
        except ApiError as exc:
            return _error(exc.error)
        return _Answer(200, {"ok": True, **result}, {"X-OAuth-Scopes": BOT_SCOPES})

    def _serve_response_url(self, url_id: str, body: bytes, arrived: float) -> _Answer:
        with self._cond:
            try:
                params = _json_object(body)
                self.workspace.respond(url_id, copy.deepcopy(params))
                answer = _Answer(200, {"ok": True})
            except ApiError as exc:
                params = {}
                status = 404 if exc.error == "invalid_url" else 400
                answer = _Answer(status, {"ok": False, "error": exc.error})
            call = self._record(
                RecordedCall(
                    RESPONSE_URL_METHOD,
                    {**params, "response_url_id": url_id},
                    arrived,
                    None,
                    answer.status,
                    answer.payload,
                )
            )
        self._notify_hook(call)
        return answer

    def _serve_upload(
        self, file_id: str, content_type: str, body: bytes, arrived: float
    ) -> _Answer:
        # Slack answers a good upload with HTTP 200 and "OK - <bytes>" (no token: the URL is the
        # credential); https://docs.slack.dev/reference/methods/files.getUploadURLExternal
        with self._cond:
            failure = self._take_failure(UPLOAD_METHOD)
            if failure is not None:
                answer = _failed(failure)
            else:
                try:
                    size = self.workspace.receive_upload(file_id, content_type, body)
                    answer = _Answer(200, {}, text=f"OK - {size}")
                except ApiError:
                    answer = _Answer(404, {}, text="Not Found")
            call = self._record(
                RecordedCall(
                    UPLOAD_METHOD,
                    {"file_id": file_id, "content_type": content_type, "bytes": body},
                    arrived,
                    None,
                    answer.status,
                    {"ok": answer.status == 200},
                )
            )
        self._notify_hook(call)
        return answer

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        return failure

    def _record(self, call: RecordedCall) -> RecordedCall:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return call

    def _notify_hook(self, call: RecordedCall) -> None:
        hook = self.on_call
        if hook is None:
            return
        try:
            hook(call)
        except Exception:
            logger.exception("on_call hook failed for %s", call.method)


def _error(error: str) -> _Answer:
    return _Answer(200, {"ok": False, "error": error})


def _failed(failure: _Failure) -> _Answer:
    if failure.error is not None:
        return _error(failure.error)
    headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
    error = _HTTP_ERRORS.get(failure.status, f"http_{failure.status}")
    return _Answer(failure.status, {"ok": False, "error": error}, headers)
