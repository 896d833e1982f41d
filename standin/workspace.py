"""In-memory model of a Slack workspace: the state behind :class:`standin.web_api.FakeSlackWebApi`.

The model keeps messages per channel (edited in place by ``chat.update``), thread replies,
ephemeral messages, DM channels, users with their time zones, modal and Home tab views, trigger
ids and ``response_url`` webhooks. It answers Web API methods the way Slack does, with the error
codes Slack uses, and it checks the few Block Kit limits that most often bite in production.

It is not thread-safe: :class:`~standin.web_api.FakeSlackWebApi` serialises access with a lock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standin.files import FileError, FileStore, StoredFile

JSON = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3000
DEFAULT_TRIGGER_TTL = 3.0


class ApiError(Exception):
    """A Web API error: the method answers HTTP 200 with ``{"ok": false, "error": error}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Message:
    """A message as the workspace currently shows it."""

    channel: str
    ts: str
    text: str
    blocks: list[Any]
    user: str
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    edited: bool = False
    metadata: Any = None
    files: list[JSON] | None = None  # shared by files.completeUploadExternal

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, with_metadata: bool = True) -> JSON:
        """The message object Slack returns in API responses and interaction payloads.

        conversations.history and conversations.replies include `metadata` only when asked
        with include_all_metadata (https://docs.slack.dev/reference/methods/conversations.history).
        """
        out: JSON = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "blocks": copy.deepcopy(self.blocks),
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        if self.metadata is not None and with_metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        if self.files:
            out["files"] = copy.deepcopy(self.files)
            out["upload"] = True
        return out


@dataclass
class EphemeralMessage:
    """A message only ``user`` can see (``chat.postEphemeral`` or an ephemeral response_url)."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[Any]
    thread_ts: str | None = None


@dataclass
class User:
    id: str
    real_name: str
    tz: str = "UTC"
    tz_label: str = "Coordinated Universal Time"
    tz_offset: int = 0

    def to_api(self, team_id: str) -> JSON:
        name = self.real_name.lower().replace(" ", ".")
        return {
            "id": self.id,
            "team_id": team_id,
            "name": name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": False,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": {"real_name": self.real_name, "display_name": name, "team": team_id},
        }


@dataclass
class ResponseUrl:
    """Where a ``response_url`` posts to: the channel, the user and the source message."""

    channel: str
    user: str
    message_ts: str | None = None
    uses: int = 0


@dataclass
class _Trigger:
    user: str | None
    issued_at: float
    used: bool = False


def _str(params: JSON, name: str, error: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(error)
    return str(value)


def _opt_str(params: JSON, name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"1", "true", "yes"}
    return bool(value)


def _split_users(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [u.strip() for u in str(value or "").split(",") if u.strip()]


def _text_of(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def check_blocks(blocks: Any, limit: int) -> list[Any]:
    """Validate the Block Kit rules Slack enforces most visibly; raise ``invalid_blocks``."""
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise ApiError("invalid_blocks")
    block_ids: set[str] = set()
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise ApiError("invalid_blocks")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                raise ApiError("invalid_blocks")
            block_ids.add(block_id)
        if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
            raise ApiError("invalid_blocks")
    return blocks


class Workspace:
    """State of one fake workspace and the Web API methods that act on it."""

    def __init__(
        self,
        *,
        team_id: str = "T0HOTFIX",
        team_domain: str = "hotfix-test",
        bot_user_id: str = "U0HOTFIXBOT",
        bot_id: str = "B0HOTFIXBOT",
        app_id: str = "A0HOTFIX",
        ts_start: int | None = None,
        permalink_host: str = "https://example.slack.test",
        trigger_ttl: float = DEFAULT_TRIGGER_TTL,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.permalink_host = permalink_host.rstrip("/")
        self.trigger_ttl = trigger_ttl
        # Slack's message ts is the wall-clock time of the post: conversations.history's `oldest`
        # (a time) then selects the same messages here as on Slack.
        self._ts_base = (int(time.time()) if ts_start is None else ts_start) * 1_000_000
        self._ts_counter = itertools.count(1)
        self._ids = itertools.count(1)
        self._users: dict[str, User] = {}
        self._conversations: dict[tuple[str, ...], str] = {}
        # Conversations the bot cannot post in, and the error Slack answers there.
        self._closed: dict[str, str] = {}
        self.upload_url_base = "http://files.slack.test/upload/v1/"  # the server sets its own
        self.clear()
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    # ------------------------------------------------------------------ state

    def clear(self) -> None:
        """Forget messages, views, triggers and response URLs; keep users and DM channel ids."""
        self._messages: dict[str, list[Message]] = {}
        self._ephemeral: list[EphemeralMessage] = []
        self._views: dict[str, JSON] = {}
        self._view_owner: dict[str, str | None] = {}
        self._home_view_ids: dict[str, str] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._files = FileStore(self.new_id)

    def next_ts(self) -> str:
        """A unique, increasing message timestamp like ``1700000000.000100``."""
        value = self._ts_base + next(self._ts_counter) * 100
        return f"{value // 1_000_000}.{value % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def user(self, user_id: str) -> User:
        if user_id not in self._users:
            self._users[user_id] = User(id=user_id, real_name=f"User {user_id}")
        return self._users[user_id]

    def set_user_timezone(self, user_id: str, tz_name: str, offset_seconds: int | None) -> None:
        user = self.user(user_id)
        user.tz = tz_name
        user.tz_label = tz_name
        user.tz_offset = _utc_offset(tz_name) if offset_seconds is None else offset_seconds

    def dm_channel(self, user_id: str) -> str:
        """The DM channel between the bot and ``user_id`` (stable for the server's lifetime)."""
        return self._conversation((user_id,))

    def close_to_bot(self, channel: str, error: str = "channel_not_found") -> None:
        """A conversation the bot cannot post in. Slack answers `channel_not_found` for a
        private channel or a DM between people the bot is not part of ("Value passed for
        channel was invalid"), and `not_in_channel` where it must be a member; see the errors
        of https://api.slack.com/methods/chat.postMessage (also chat.update, chat.postEphemeral).
        """
        if error not in ("channel_not_found", "not_in_channel", "is_archived"):
            raise ValueError(f"not an error Slack answers for a closed conversation: {error}")
        self._closed[channel] = error

    def issue_trigger(self, user_id: str | None) -> str:
        """Mint a trigger id, as Slack does for each slash command or button click."""
        trigger_id = f"{next(self._ids)}.{self.team_id[1:]}.{time.monotonic_ns():x}"
        self._triggers[trigger_id] = _Trigger(user=user_id, issued_at=time.monotonic())
        return trigger_id

    def issue_response_url(self, channel: str, user: str, message_ts: str | None) -> str:
        """Register a response_url target; returns its id (the server builds the URL)."""
        url_id = self.new_id("R")
        self._response_urls[url_id] = ResponseUrl(channel, user, message_ts)
        return url_id

    # ---------------------------------------------------------------- queries

    def messages(self, channel: str, *, include_replies: bool = False) -> list[Message]:
        msgs = self._messages.get(channel, [])
        return [
            copy.deepcopy(m) for m in msgs if include_replies or not m.is_reply or m.reply_broadcast
        ]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [
            copy.deepcopy(m)
            for m in self._messages.get(channel, [])
            if m.thread_ts == ts and m.is_reply
        ]

    def find_message(self, channel: str, ts: str) -> Message | None:
        for message in self._messages.get(channel, []):
            if message.ts == ts:
                return message
        return None

    def ephemeral_messages(self, channel: str | None, user: str | None) -> list[EphemeralMessage]:
        return [
            copy.deepcopy(e)
            for e in self._ephemeral
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    def home_view(self, user_id: str) -> JSON | None:
        view_id = self._home_view_ids.get(user_id)
        return copy.deepcopy(self._views[view_id]) if view_id else None

    def view(self, view_id: str) -> JSON | None:
        found = self._views.get(view_id)
        return copy.deepcopy(found) if found else None

    def latest_view(self, callback_id: str, user_id: str | None = None) -> JSON | None:
        """The most recently opened or updated modal with ``callback_id`` (for ``user_id``)."""
        for view_id in reversed(list(self._views)):
            view = self._views[view_id]
            owner = self._view_owner.get(view_id)
            if view.get("callback_id") != callback_id or view.get("type") == "home":
                continue
            if user_id is None or owner in (None, user_id):
                return copy.deepcopy(view)
        return None

    def uploaded_files(self) -> list[StoredFile]:
        """Every file whose upload was started, in order."""
        return [copy.deepcopy(f) for f in self._files.files.values()]

    def receive_upload(self, file_id: str, content_type: str, body: bytes) -> int:
        """Bytes POSTed to an upload URL (see standin.files); raises ApiError("not_found")."""
        try:
            return self._files.receive(file_id, content_type, body)
        except FileError as exc:
            raise ApiError(exc.error) from exc

    def add_message(self, message: Message) -> Message:
        self._messages.setdefault(message.channel, []).append(message)
        return message

    # -------------------------------------------------------------- dispatch

    def add_method(self, method: str, handler: Callable[[JSON], JSON]) -> None:
        """Answer one more Web API method (e.g. apps.connections.open for Socket Mode)."""
        self._handlers[method] = handler

    def handle(self, method: str, params: JSON) -> JSON:
        """Run a Web API method; returns the response fields besides ``ok``."""
        handler = self._handlers.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        return handler(params)

    def respond(self, url_id: str, body: JSON) -> None:
        """Apply a POST to a response_url, the way Slack treats its fields."""
        target = self._response_urls.get(url_id)
        if target is None:
            raise ApiError("invalid_url")
        target.uses += 1
        if _truthy(body.get("delete_original")):
            self._delete(target.channel, target.message_ts or "")
        elif _truthy(body.get("replace_original")):
            self._replace(target.channel, target.message_ts or "", body)
        elif body.get("response_type") == "in_channel":
            self._post(target.channel, body)
        else:
            self._post_ephemeral(target.channel, target.user, body)

    # ------------------------------------------------------------- handlers

    def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": f"{self.permalink_host}/",
            "team": "Hotfix Test",
            "user": "hotfix-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSON) -> JSON:
        channel = self._resolve_channel(_str(params, "channel", "channel_not_found"))
        self._check_open(channel)
        message = self._post(channel, params)
        return {"channel": channel, "ts": message.ts, "message": message.to_api()}

    def _chat_update(self, params: JSON) -> JSON:
        channel = _str(params, "channel", "channel_not_found")
        self._check_open(channel)
        message = self._replace(channel, _str(params, "ts", "message_not_found"), params)
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(),
        }

    def _chat_delete(self, params: JSON) -> JSON:
        channel = _str(params, "channel", "channel_not_found")
        ts = _str(params, "ts", "message_not_found")
        self._delete(channel, ts)
        return {"channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        channel = self._resolve_channel(_str(params, "channel", "channel_not_found"))
        self._check_open(channel)
        user = _str(params, "user", "user_not_in_channel")
        ephemeral = self._post_ephemeral(channel, user, params)
        return {"message_ts": ephemeral.message_ts}

    def _chat_get_permalink(self, params: JSON) -> JSON:
        channel = _str(params, "channel", "channel_not_found")
        message = self._existing(channel, _str(params, "message_ts", "message_not_found"))
        link = f"{self.permalink_host}/archives/{channel}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _conversations_open(self, params: JSON) -> JSON:
        existing = _opt_str(params, "channel")
        users = _split_users(params.get("users"))
        if existing is None and not users:
            raise ApiError("users_list_not_supplied")
        key = tuple(sorted(users))
        already_open = existing is not None or key in self._conversations
        channel_id = existing or self._conversation(key)
        channel: JSON = {"id": channel_id, "is_im": len(users) == 1}
        if len(users) == 1:
            channel["user"] = users[0]
        return {"no_op": already_open, "already_open": already_open, "channel": channel}

    def _conversations_history(self, params: JSON) -> JSON:
        """Top-level messages (and broadcast replies), newest first, between `oldest` and
        `latest` (exclusive unless `inclusive`), `limit` per page (default 100, at most 999),
        paged by `cursor` / response_metadata.next_cursor; `metadata` only with
        include_all_metadata. https://docs.slack.dev/reference/methods/conversations.history
        """
        channel = _str(params, "channel", "channel_not_found")
        self._check_open(channel)
        found = [m for m in reversed(self.messages(channel)) if _in_window(m.ts, params)]
        return _page(found, params, default_limit=100, max_limit=999)

    def _conversations_replies(self, params: JSON) -> JSON:
        """The thread's parent then its replies, oldest first; the same window, paging and
        metadata rules as conversations.history (default and largest `limit` 1000).
        https://docs.slack.dev/reference/methods/conversations.replies
        """
        channel = _str(params, "channel", "channel_not_found")
        self._check_open(channel)
        # A ts that names no message: "thread_not_found" in the method's published errors.
        parent = self.find_message(channel, _str(params, "ts", "thread_not_found"))
        if parent is None:
            raise ApiError("thread_not_found")
        replies = [m for m in self.thread(channel, parent.ts) if _in_window(m.ts, params)]
        return _page([parent, *replies], params, default_limit=1000, max_limit=1000)

    def _users_info(self, params: JSON) -> JSON:
        return {"user": self.user(_str(params, "user", "user_not_found")).to_api(self.team_id)}

    def _views_open(self, params: JSON) -> JSON:
        owner = self._use_trigger(params)
        view = self._new_view(_view_spec(params), owner=owner)
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, params: JSON) -> JSON:
        user_id = _str(params, "user_id", "invalid_arguments")
        spec = _view_spec(params, limit=MAX_VIEW_BLOCKS, kind="home")
        view_id = self._home_view_ids.get(user_id)
        if view_id is None:
            view_id = self._home_view_ids[user_id] = self.new_id("V")
        else:
            _check_hash(self._views[view_id], params)
        self._views[view_id] = self._view_record(view_id, spec, previous=None)
        self._view_owner[view_id] = user_id
        return {"view": copy.deepcopy(self._views[view_id])}

    def _views_update(self, params: JSON) -> JSON:
        view_id = self._find_view_id(params)
        current = self._views[view_id]
        _check_hash(current, params)
        spec = _view_spec(params, kind=str(current.get("type", "modal")))
        self._views[view_id] = self._view_record(
            view_id, spec, previous=current.get("previous_view_id")
        )
        return {"view": copy.deepcopy(self._views[view_id])}

    def _files_get_upload_url_external(self, params: JSON) -> JSON:
        self._files.upload_url_base = self.upload_url_base
        try:
            return self._files.get_upload_url(params)
        except FileError as exc:
            raise ApiError(exc.error) from exc

    def _files_complete_upload_external(self, params: JSON) -> JSON:
        try:
            files, channels = self._files.complete(params)
        except FileError as exc:
            raise ApiError(exc.error) from exc
        thread_ts = _opt_str(params, "thread_ts")
        if thread_ts is not None and len(channels) != 1:
            raise ApiError("invalid_arguments")  # Slack: thread_ts takes exactly one channel
        for channel in channels:
            resolved = self._resolve_channel(channel)
            for stored in files:
                stored.shared_in.append(resolved)
            shown = [stored.to_api(self.team_id, self.bot_user_id) for stored in files]
            message = Message(
                channel=resolved,
                ts=self.next_ts(),
                text=str(params.get("initial_comment") or ""),
                blocks=[],
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=thread_ts,
                files=shown,
            )
            self.add_message(message)
        return {"files": [stored.to_api(self.team_id, self.bot_user_id) for stored in files]}

    # --------------------------------------------------------------- helpers

    def _check_open(self, channel: str) -> None:
        error = self._closed.get(channel)
        if error is not None:
            raise ApiError(error)

    def _resolve_channel(self, channel: str) -> str:
        """Posting to a user id posts into the bot's DM with that user, as on Slack."""
        return self.dm_channel(channel) if channel[:1] in {"U", "W"} else channel

    def _conversation(self, users: tuple[str, ...]) -> str:
        if users not in self._conversations:
            self._conversations[users] = self.new_id("D" if len(users) == 1 else "G")
        return self._conversations[users]

    def _existing(self, channel: str, ts: str) -> Message:
        message = self.find_message(channel, ts)
        if message is None:
            raise ApiError("message_not_found")
        return message

    def _post(self, channel: str, params: JSON) -> Message:
        text, blocks = _content(params, required=True)
        message = Message(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            blocks=blocks,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=_opt_str(params, "thread_ts"),
            reply_broadcast=_truthy(params.get("reply_broadcast")),
            metadata=params.get("metadata"),
        )
        return self.add_message(message)

    def _replace(self, channel: str, ts: str, params: JSON) -> Message:
        message = self._existing(channel, ts)
        if message.user != self.bot_user_id:
            raise ApiError("cant_update_message")
        text, blocks = _content(params, required=False)
        if "text" in params:
            message.text = text
        if "blocks" in params:
            message.blocks = blocks
        message.edited = True
        return message

    def _delete(self, channel: str, ts: str) -> None:
        message = self._existing(channel, ts)
        self._messages[channel].remove(message)

    def _post_ephemeral(self, channel: str, user: str, params: JSON) -> EphemeralMessage:
        text, blocks = _content(params, required=True)
        ephemeral = EphemeralMessage(
            channel=channel,
            user=user,
            message_ts=self.next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=_opt_str(params, "thread_ts"),
        )
        self._ephemeral.append(ephemeral)
        return ephemeral

    def _use_trigger(self, params: JSON) -> str | None:
        """Trigger ids are single-use and expire after 3 seconds; unknown ones are accepted."""
        trigger_id = _str(params, "trigger_id", "invalid_trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return None
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def _new_view(self, spec: JSON, *, owner: str | None) -> JSON:
        view_id = self.new_id("V")
        self._views[view_id] = self._view_record(view_id, spec, previous=None)
        self._view_owner[view_id] = owner
        return self._views[view_id]

    def _view_record(self, view_id: str, spec: JSON, *, previous: str | None) -> JSON:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec.get("type", "modal"),
            "title": spec.get("title"),
            "submit": spec.get("submit"),
            "close": spec.get("close"),
            "blocks": spec.get("blocks", []),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "external_id": spec.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{next(self._ids):08x}",
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "previous_view_id": previous,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }

    def _find_view_id(self, params: JSON) -> str:
        view_id = _opt_str(params, "view_id")
        if view_id is not None and view_id in self._views:
            return view_id
        external_id = _opt_str(params, "external_id")
        for candidate, view in self._views.items():
            if external_id is not None and view.get("external_id") == external_id:
                return candidate
        raise ApiError("not_found")


def _in_window(ts: str, params: JSON) -> bool:
    """`oldest` / `latest` bound the messages; the bounds themselves only with `inclusive`."""
    inclusive = _truthy(params.get("inclusive"))
    value = float(ts)
    oldest, latest = _opt_str(params, "oldest"), _opt_str(params, "latest")
    try:
        if oldest is not None and (
            value < float(oldest) or (value == float(oldest) and not inclusive)
        ):
            return False
        if latest is not None and (
            value > float(latest) or (value == float(latest) and not inclusive)
        ):
            return False
    except ValueError as exc:
        raise ApiError("invalid_ts_oldest" if oldest else "invalid_ts_latest") from exc
    return True


def _page(messages: list[Message], params: JSON, *, default_limit: int, max_limit: int) -> JSON:
    """One page of a cursor-paginated answer: has_more and response_metadata.next_cursor (an
    opaque string, empty on the last page). https://docs.slack.dev/apis/web-api/pagination"""
    try:
        limit = int(params.get("limit") or default_limit)
    except ValueError as exc:
        raise ApiError("invalid_limit") from exc
    limit = max(1, min(limit, max_limit))
    start = 0
    cursor = _opt_str(params, "cursor")
    if cursor:
        try:
            kind, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
            start = int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ApiError("invalid_cursor") from exc
        if kind != "offset" or start < 0:
            raise ApiError("invalid_cursor")
    with_metadata = _truthy(params.get("include_all_metadata"))
    page = messages[start : start + limit]
    has_more = start + limit < len(messages)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if has_more else ""
    return {
        "messages": [m.to_api(with_metadata=with_metadata) for m in page],
        "has_more": has_more,
        "response_metadata": {"next_cursor": next_cursor},
    }


def _content(params: JSON, *, required: bool) -> tuple[str, list[Any]]:
    text = str(params.get("text") or "")
    raw_blocks = params.get("blocks")
    blocks = check_blocks(raw_blocks, MAX_MESSAGE_BLOCKS) if raw_blocks is not None else []
    if required and not text and not blocks and not params.get("attachments"):
        raise ApiError("no_text")
    return text, blocks


def _view_spec(params: JSON, *, limit: int = MAX_VIEW_BLOCKS, kind: str = "modal") -> JSON:
    view = params.get("view")
    if not isinstance(view, dict) or view.get("type", kind) != kind:
        raise ApiError("invalid_arguments")
    check_blocks(view.get("blocks", []), limit)
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        raise ApiError("invalid_arguments")
    if kind == "modal":
        title = _text_of(view.get("title"))
        if not title or len(title) > MAX_MODAL_TITLE:
            raise ApiError("invalid_arguments")
    return view


def _check_hash(current: JSON, params: JSON) -> None:
    given = _opt_str(params, "hash")
    if given is not None and given != current.get("hash"):
        raise ApiError("hash_conflict")


def _utc_offset(tz_name: str) -> int:
    try:
        zone = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz_name!r}; pass offset_seconds") from exc
    offset = datetime.now(UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0
