"""Play Slack's side toward a Bolt app served over HTTP (e.g. ``http://127.0.0.1:3000/slack/events``).

:class:`SlackDriver` sends signed slash commands, ``block_actions``, ``view_submission`` payloads
and Events API callbacks shaped like Slack's. Given a :class:`~standin.web_api.FakeSlackWebApi`,
it mints trigger ids and ``response_url``s served by that fake, sends the current state of the
clicked message, and reuses the modal the app opened, so the app never needs slack.com.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from standin.signing import sign
from standin.web_api import FakeSlackWebApi
from standin.workspace import JSON

SignatureMode = Literal["valid", "forged", "stale", "missing"]
STALE_AFTER_SECONDS = 5 * 60
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Reply:
    """What the app answered."""

    status: int
    headers: dict[str, str]
    body: str
    json: Any
    elapsed: float
    sent: JSON = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def text_input(value: str | None) -> JSON:
    """State of a ``plain_text_input`` element, as in ``view.state.values``."""
    return {"type": "plain_text_input", "value": value}


def static_select(value: str, text: str | None = None) -> JSON:
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def users_select(user_id: str) -> JSON:
    return {"type": "users_select", "selected_user": user_id}


def multi_users_select(user_ids: list[str]) -> JSON:
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def state_values(values: Mapping[str, Mapping[str, Any]]) -> JSON:
    """Build ``view.state.values`` (block_id -> action_id -> element state).

    An element state may be given in full (a dict with ``type``), as a string (a text input) or
    as a list of user ids (a multi-users select).
    """
    return {
        block_id: {action_id: _element_state(v) for action_id, v in actions.items()}
        for block_id, actions in values.items()
    }


def _element_state(value: Any) -> JSON:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return multi_users_select([str(v) for v in value])
    return text_input(None if value is None else str(value))


def _find_element(blocks: Any, action_id: str) -> JSON | None:
    for block in blocks if isinstance(blocks, list) else []:
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def _parse_json(body: str, content_type: str) -> Any:
    if JSON_TYPE not in content_type and not body.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class SlackDriver:
    """Sends requests to a Bolt app the way Slack does, signed with ``signing_secret``."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        web_api: FakeSlackWebApi | None = None,
        verification_token: str = "fake-verification-token",
        team_domain: str = "hotfix-test",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.web_api = web_api
        self.verification_token = verification_token
        self.team_domain = team_domain
        self.timeout = timeout
        self.clock = clock
        self.user_names: dict[str, str] = {}
        self.channel_names: dict[str, str] = {}
        workspace = web_api.workspace if web_api is not None else None
        self.team_id = workspace.team_id if workspace else "T0HOTFIX"
        self.api_app_id = workspace.app_id if workspace else "A0HOTFIX"
        self.bot_user_id = workspace.bot_user_id if workspace else "U0HOTFIXBOT"
        self._ids = itertools.count(1)
        self._last_action_ts = 0.0
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ------------------------------------------------------------- requests

    def slash_command(
        self,
        user_id: str,
        text: str,
        channel_id: str = "C0INCIDENT",
        command: str = "/hotfix",
        trigger_id: str | None = None,
        retry_num: int | None = None,
        *,
        signature: SignatureMode = "valid",
    ) -> Reply:
        """POST a slash command invocation (form-encoded, like Slack)."""
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self.channel_name(channel_id),
            "user_id": user_id,
            "user_name": self.user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(channel_id, user_id, None),
            "trigger_id": trigger_id or self._trigger_id(user_id),
        }
        body = urlencode(fields).encode()
        return self.post(body, FORM, retry_num=retry_num, signature=signature, sent=fields)

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str,
        channel_id: str,
        message_ts: str,
        block_id: str = "b",
        message: JSON | None = None,
        trigger_id: str | None = None,
        retry_num: int | None = None,
        *,
        action_ts: str | None = None,
        signature: SignatureMode = "valid",
    ) -> Reply:
        """Click a button in a message. Pass the same ``action_ts`` to replay the same click."""
        shown = self._message_payload(channel_id, message_ts, message)
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "container": self._container(channel_id, shown),
            "trigger_id": trigger_id or self._trigger_id(user_id),
            "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self.channel_name(channel_id)},
            "message": shown,
            "state": {"values": {}},
            "response_url": self._response_url(channel_id, user_id, message_ts),
            "actions": [
                self._action(shown, action_id, block_id, value, action_ts or self._action_ts())
            ],
        }
        return self._post_payload(payload, retry_num=retry_num, signature=signature)

    def view_submission(
        self,
        user_id: str,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        private_metadata: str | None = None,
        view_id: str | None = None,
        *,
        signature: SignatureMode = "valid",
    ) -> Reply:
        """Submit a modal. With a web_api, the latest modal opened with ``callback_id`` is used
        (its id, blocks and private_metadata) unless ``view_id``/``private_metadata`` are given.
        """
        opened = self._opened_view(callback_id, user_id, view_id)
        view = {
            "id": view_id or opened.get("id") or f"V{next(self._ids):09d}",
            "team_id": self.team_id,
            "type": "modal",
            "blocks": opened.get("blocks", []),
            "private_metadata": (
                private_metadata
                if private_metadata is not None
                else opened.get("private_metadata", "")
            ),
            "callback_id": callback_id,
            "state": {"values": state_values(values)},
            "hash": opened.get("hash", f"{self.clock():.6f}.{uuid.uuid4().hex[:8]}"),
            "title": opened.get("title", {"type": "plain_text", "text": "Hotfix"}),
            "previous_view_id": None,
            "root_view_id": view_id or opened.get("id"),
            "app_id": self.api_app_id,
            "external_id": opened.get("external_id", ""),
            "bot_id": opened.get("bot_id"),
        }
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger_id(user_id),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload, retry_num=None, signature=signature)

    def app_home_opened(
        self,
        user_id: str,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        signature: SignatureMode = "valid",
    ) -> Reply:
        """Send an ``app_home_opened`` Events API callback (JSON). Reuse ``event_id`` + set
        ``retry_num`` to simulate Slack redelivering the same event."""
        now = self.clock()
        event: JSON = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self._dm_channel(user_id),
            "tab": "home",
            "event_ts": f"{now:.6f}",
        }
        home = self.web_api.home_view(user_id) if self.web_api else None
        if home is not None:
            event["view"] = home
        body = self._event_callback(event, event_id or f"Ev{uuid.uuid4().hex[:10].upper()}", now)
        data = json.dumps(body).encode()
        return self.post(data, JSON_TYPE, retry_num=retry_num, signature=signature, sent=body)

    def url_verification(self, challenge: str, *, signature: SignatureMode = "valid") -> Reply:
        body = {
            "token": self.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        data = json.dumps(body).encode()
        return self.post(data, JSON_TYPE, signature=signature, sent=body)

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        signature: SignatureMode = "valid",
        sent: JSON | None = None,
    ) -> Reply:
        """POST raw ``body`` to the app, signed according to ``signature``."""
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        headers.update(self._signature_headers(body, signature))
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        return self._send(request, sent or {})

    # --------------------------------------------------------------- naming

    def user_name(self, user_id: str) -> str:
        return self.user_names.get(user_id, f"user.{user_id.lower()}")

    def channel_name(self, channel_id: str) -> str:
        if channel_id in self.channel_names:
            return self.channel_names[channel_id]
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()

    # -------------------------------------------------------------- helpers

    def _send(self, request: urllib.request.Request, sent: JSON) -> Reply:
        started = time.perf_counter()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, message, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, message, raw = exc.code, exc.headers, exc.read()
        elapsed = time.perf_counter() - started
        text = raw.decode("utf-8", errors="replace")
        parsed = _parse_json(text, message.get("Content-Type", ""))
        return Reply(status, dict(message.items()), text, parsed, elapsed, sent)

    def _signature_headers(self, body: bytes, mode: SignatureMode) -> dict[str, str]:
        now = int(self.clock())
        if mode == "missing":
            return {}
        if mode == "forged":
            return sign(f"forged-{self.signing_secret}", body, now)
        if mode == "stale":
            return sign(self.signing_secret, body, now - STALE_AFTER_SECONDS - 60)
        return sign(self.signing_secret, body, now)

    def _post_payload(
        self, payload: JSON, *, retry_num: int | None, signature: SignatureMode
    ) -> Reply:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, FORM, retry_num=retry_num, signature=signature, sent=payload)

    def _event_callback(self, event: JSON, event_id: str, now: float) -> JSON:
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }

    def _user(self, user_id: str) -> JSON:
        name = self.user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _container(self, channel_id: str, message: JSON) -> JSON:
        container: JSON = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        return container

    def _message_payload(self, channel_id: str, ts: str, message: JSON | None) -> JSON:
        if message is not None:
            return {"type": "message", "text": "", "blocks": [], **message, "ts": ts}
        stored = self.web_api.message(channel_id, ts) if self.web_api else None
        if stored is not None:
            return stored.to_api()
        return {"type": "message", "ts": ts, "text": "", "blocks": []}

    def _action(
        self, message: JSON, action_id: str, block_id: str, value: str, action_ts: str
    ) -> JSON:
        element = _find_element(message.get("blocks"), action_id) or {}
        action: JSON = {
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "type": element.get("type", "button"),
            "action_ts": action_ts,
        }
        if "text" in element:
            action["text"] = element["text"]
        return action

    def _action_ts(self) -> str:
        now = max(self.clock(), self._last_action_ts + 0.000001)
        self._last_action_ts = now
        return f"{now:.6f}"

    def _trigger_id(self, user_id: str) -> str:
        if self.web_api is not None:
            return self.web_api.new_trigger_id(user_id)
        return f"{next(self._ids)}.{self.team_id[1:]}.{uuid.uuid4().hex}"

    def _response_url(self, channel_id: str, user_id: str, message_ts: str | None) -> str:
        if self.web_api is not None:
            return self.web_api.new_response_url(channel_id, user_id, message_ts)
        return f"https://hooks.example.slack.test/actions/{self.team_id}/{next(self._ids)}/x"

    def _dm_channel(self, user_id: str) -> str:
        if self.web_api is not None:
            return self.web_api.dm_channel(user_id)
        return f"D{user_id.lstrip('UW')}"

    def _opened_view(self, callback_id: str, user_id: str, view_id: str | None) -> JSON:
        if self.web_api is None:
            return {}
        found = self.web_api.view(view_id) if view_id else None
        return found or self.web_api.latest_view(callback_id, user_id) or {}
