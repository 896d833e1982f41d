"""Tests of the local Slack stand-in, driven through the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from standin.signing import sign
from standin.slack_client import SlackDriver, static_select
from standin.web_api import FakeSlackWebApi, RecordedCall
from standin.workspace import Workspace

TOKEN = "xoxb-test"
SECRET = "test-signing-secret"
CHANNEL = "C0INCIDENT"
TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")
BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "HF-1 open"}},
    {
        "type": "actions",
        "block_id": "b",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "HF-1",
                "text": {"type": "plain_text", "text": "Approve"},
            }
        ],
    },
]


@pytest.fixture
def slack() -> Iterator[FakeSlackWebApi]:
    with FakeSlackWebApi() as server:
        yield server


@pytest.fixture
def client(slack: FakeSlackWebApi) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url)


def _no_wait_server_retries(max_retry_count: int = 1) -> ServerErrorRetryHandler:
    interval = FixedValueRetryIntervalCalculator(0.01)
    return ServerErrorRetryHandler(max_retry_count=max_retry_count, interval_calculator=interval)


# ---------------------------------------------------------------- server basics


def test_base_url_is_what_webclient_expects(slack: FakeSlackWebApi) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", slack.base_url)


def test_stop_releases_the_port() -> None:
    server = FakeSlackWebApi().start()
    base_url = server.base_url
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(base_url + "auth.test", data=b"", timeout=1)


def test_auth_test_identifies_the_bot(slack: FakeSlackWebApi, client: WebClient) -> None:
    response = client.auth_test()
    assert response["user_id"] == slack.bot_user_id
    assert "chat:write" in response.headers["X-OAuth-Scopes"]
    assert slack.last("auth.test").token == TOKEN


def test_missing_token_is_not_authed(slack: FakeSlackWebApi) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.base_url).auth_test()
    assert raised.value.response["error"] == "not_authed"


def test_wrong_token_is_rejected_when_a_token_is_configured() -> None:
    with FakeSlackWebApi(token="xoxb-right") as server:
        wrong = WebClient(token="xoxb-wrong", base_url=server.base_url)
        with pytest.raises(SlackApiError) as raised:
            wrong.auth_test()
        assert raised.value.response["error"] == "invalid_auth"
        assert WebClient(token="xoxb-right", base_url=server.base_url).auth_test()["ok"]


def test_unknown_method(slack: FakeSlackWebApi, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("reactions.nope")
    assert raised.value.response["error"] == "unknown_method"
    assert slack.last("reactions.nope").status == 200


# ---------------------------------------------------------------- messages


def test_post_then_update_shows_the_update(slack: FakeSlackWebApi, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="opening", blocks=BUTTONS)
    assert TS_PATTERN.match(posted["ts"])
    assert posted["channel"] == CHANNEL
    assert posted["message"]["blocks"] == BUTTONS

    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="deployed", blocks=[])

    [message] = slack.messages(CHANNEL)
    assert (message.ts, message.text, message.blocks, message.edited) == (
        posted["ts"],
        "deployed",
        [],
        True,
    )


def test_update_keeps_fields_it_does_not_mention(slack: FakeSlackWebApi, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="v1", blocks=BUTTONS)
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v2")
    assert slack.messages(CHANNEL)[0].blocks == BUTTONS


def test_ts_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=CHANNEL, text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(set(stamps), key=float)


def test_update_of_unknown_ts_is_message_not_found(client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="x")
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel=CHANNEL, ts="1700000000.999999", text="y")
    assert raised.value.response["error"] == "message_not_found"


def test_update_in_another_channel_is_message_not_found(client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="x")["ts"]
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C0OTHER", ts=ts, text="y")
    assert raised.value.response["error"] == "message_not_found"


def test_post_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.postMessage", json={"channel": CHANNEL})
    assert raised.value.response["error"] == "no_text"


def test_form_encoded_blocks_are_recorded_as_objects(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    form = {"channel": CHANNEL, "text": "t", "blocks": json.dumps(BUTTONS)}
    client.api_call("chat.postMessage", params=form)
    assert slack.last("chat.postMessage").params["blocks"] == BUTTONS


def test_thread_replies(slack: FakeSlackWebApi, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="parent")["ts"]
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=parent)

    assert slack.last("chat.postMessage").params["thread_ts"] == parent
    assert [m.text for m in slack.thread(CHANNEL, parent)] == ["reply"]
    assert [m.text for m in slack.messages(CHANNEL)] == ["parent"]
    permalink = client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])["permalink"]
    assert f"thread_ts={parent}" in permalink


def test_ephemeral_and_permalink(slack: FakeSlackWebApi, client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel=CHANNEL, user="U1", text="only you")
    assert TS_PATTERN.match(ephemeral["message_ts"])
    assert [e.text for e in slack.ephemeral_messages(CHANNEL, user="U1")] == ["only you"]

    ts = client.chat_postMessage(channel=CHANNEL, text="x")["ts"]
    permalink = client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]
    assert permalink == f"https://example.slack.test/archives/{CHANNEL}/p{ts.replace('.', '')}"


def test_conversations_open_is_stable_per_user(slack: FakeSlackWebApi, client: WebClient) -> None:
    first = client.conversations_open(users="U1")["channel"]["id"]
    again = client.conversations_open(users=["U1"])["channel"]["id"]
    other = client.conversations_open(users="U2")["channel"]["id"]
    assert first.startswith("D")
    assert first == again == slack.dm_channel("U1")
    assert other != first


METADATA = {"event_type": "task_created", "event_payload": {"id": "TK-2132", "priority": "HIGH"}}


def test_history_returns_metadata_only_when_asked(client: WebClient) -> None:
    # https://docs.slack.dev/reference/methods/conversations.history: include_all_metadata
    # "Return all metadata associated with messages. Defaults to false."
    client.chat_postMessage(channel=CHANNEL, text="with", metadata=METADATA)
    plain = client.conversations_history(channel=CHANNEL)
    assert "metadata" not in plain["messages"][0]
    full = client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == METADATA


def test_history_pages_newest_first_within_oldest_and_latest(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=CHANNEL, text=f"m{i}")["ts"] for i in range(5)]
    client.chat_postMessage(channel=CHANNEL, thread_ts=stamps[0], text="a reply")
    seen: list[str] = []
    cursor = None
    while True:
        page = client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert bool(cursor) == page["has_more"]
        if not page["has_more"]:
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"], "replies stay in their threads"
    window = client.conversations_history(channel=CHANNEL, oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in window["messages"]] == ["m2"], "bounds excluded by default"
    window = client.conversations_history(
        channel=CHANNEL, oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["text"] for m in window["messages"]] == ["m3", "m2", "m1"]
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(channel=CHANNEL, cursor="not a cursor")
    assert refused.value.response["error"] == "invalid_cursor"


def test_replies_give_the_parent_then_the_thread_with_metadata_when_asked(
    client: WebClient,
) -> None:
    # https://docs.slack.dev/reference/methods/conversations.replies
    parent = client.chat_postMessage(channel=CHANNEL, text="parent")["ts"]
    for i in range(3):
        client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text=f"r{i}", metadata=METADATA)
    first = client.conversations_replies(channel=CHANNEL, ts=parent, limit=2)
    assert [m["text"] for m in first["messages"]] == ["parent", "r0"]
    assert first["has_more"] and all("metadata" not in m for m in first["messages"])
    rest = client.conversations_replies(
        channel=CHANNEL,
        ts=parent,
        limit=2,
        cursor=first["response_metadata"]["next_cursor"],
        include_all_metadata=True,
    )
    assert [m["text"] for m in rest["messages"]] == ["r1", "r2"]
    assert not rest["has_more"] and rest["response_metadata"]["next_cursor"] == ""
    assert [m["metadata"] for m in rest["messages"]] == [METADATA, METADATA]
    with pytest.raises(SlackApiError) as refused:
        client.conversations_replies(channel=CHANNEL, ts="1.000000")
    assert refused.value.response["error"] == "thread_not_found"


def test_history_where_the_bot_cannot_read_answers_slacks_error(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    slack.close_to_bot("C0PRIVATE", "not_in_channel")
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(channel="C0PRIVATE")
    assert refused.value.response["error"] == "not_in_channel"


def test_posting_to_a_user_id_lands_in_the_dm(slack: FakeSlackWebApi, client: WebClient) -> None:
    response = client.chat_postMessage(channel="U1", text="psst")
    assert response["channel"] == slack.dm_channel("U1")
    assert [m.text for m in slack.messages(slack.dm_channel("U1"))] == ["psst"]


def test_users_info_time_zone(slack: FakeSlackWebApi, client: WebClient) -> None:
    default = client.users_info(user="U1")["user"]
    assert (default["tz"], default["tz_offset"]) == ("UTC", 0)

    slack.set_user_timezone("U2", "America/New_York", -18000)
    user = client.users_info(user="U2")["user"]
    assert (user["id"], user["tz"], user["tz_offset"]) == ("U2", "America/New_York", -18000)
    assert user["real_name"]


def test_set_user_timezone_derives_the_offset(slack: FakeSlackWebApi, client: WebClient) -> None:
    slack.set_user_timezone("U3", "Asia/Kolkata")
    assert client.users_info(user="U3")["user"]["tz_offset"] == 19800


# ---------------------------------------------------------------- views


def test_views_publish_keeps_the_home_tab(slack: FakeSlackWebApi, client: WebClient) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    first = client.views_publish(user_id="U1", view=home)["view"]
    second = client.views_publish(user_id="U1", view=home)["view"]
    assert first["id"] == second["id"]
    stored = slack.home_view("U1")
    assert stored is not None
    assert stored["blocks"] == home["blocks"]


def test_views_open_then_update(slack: FakeSlackWebApi, client: WebClient) -> None:
    modal = {"type": "modal", "callback_id": "open", "title": {"type": "plain_text", "text": "T"}}
    trigger = slack.new_trigger_id("U1")
    opened = client.views_open(trigger_id=trigger, view=modal)["view"]
    client.views_update(view_id=opened["id"], view={**modal, "private_metadata": "C1"})

    latest = slack.latest_view("open", "U1")
    assert latest is not None
    assert (latest["id"], latest["private_metadata"]) == (opened["id"], "C1")
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=trigger, view=modal)
    assert raised.value.response["error"] == "exchanged_trigger_id"


def test_trigger_ids_expire_like_slacks() -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T"}}
    with FakeSlackWebApi(workspace=Workspace(trigger_ttl=0.05)) as server:
        client = WebClient(token=TOKEN, base_url=server.base_url)
        trigger = server.new_trigger_id("U1")
        time.sleep(0.1)
        with pytest.raises(SlackApiError) as raised:
            client.views_open(trigger_id=trigger, view=modal)
    assert raised.value.response["error"] == "expired_trigger_id"


def test_views_update_of_unknown_view_is_not_found(client: WebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T"}}
    with pytest.raises(SlackApiError) as raised:
        client.views_update(view_id="V404", view=modal)
    assert raised.value.response["error"] == "not_found"


def test_modal_title_longer_than_24_chars_is_rejected(client: WebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}}
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="1.2.3", view=modal)
    assert raised.value.response["error"] == "invalid_arguments"


# ---------------------------------------------------------------- failure injection


def test_http_500_surfaces_without_a_retry_handler(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    slack.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert raised.value.response.status_code == 500
    assert slack.messages(CHANNEL) == []


def test_http_500_is_retried_by_server_error_handler(slack: FakeSlackWebApi) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    client.retry_handlers.append(_no_wait_server_retries())
    slack.fail_next("chat.postMessage", status=500)

    response = client.chat_postMessage(channel=CHANNEL, text="x")

    assert response["ok"]
    assert [c.status for c in slack.calls("chat.postMessage")] == [500, 200]
    assert [m.text for m in slack.messages(CHANNEL)] == ["x"]


def test_http_429_surfaces_without_a_retry_handler(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    slack.fail_next("chat.update", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel=CHANNEL, ts="1.2", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_http_429_is_retried_after_retry_after(slack: FakeSlackWebApi) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    response = client.chat_postMessage(channel=CHANNEL, text="x")

    assert response["ok"]
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]


def test_fail_next_times_exhausts_retries(slack: FakeSlackWebApi) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    client.retry_handlers.append(_no_wait_server_retries(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=500, times=2)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert client.chat_postMessage(channel=CHANNEL, text="y")["ok"]
    assert [c.status for c in slack.calls("chat.postMessage")] == [500, 500, 200]


def test_fail_next_with_api_error(slack: FakeSlackWebApi, client: WebClient) -> None:
    slack.fail_next("users.info", error="user_not_found")
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U1")
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "user_not_found"
    assert client.users_info(user="U1")["ok"]


def test_delay_slows_only_that_method(slack: FakeSlackWebApi, client: WebClient) -> None:
    slack.delay("chat.postMessage", 0.4)
    worker = threading.Thread(
        target=client.chat_postMessage, kwargs={"channel": CHANNEL, "text": "x"}
    )
    started = time.monotonic()
    worker.start()
    client.auth_test()
    fast = time.monotonic() - started
    worker.join()
    slow = time.monotonic() - started
    assert fast < 0.3 <= 0.4 <= slow


# ---------------------------------------------------------------- recording


def test_wait_for_returns_calls_made_by_another_thread(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    def post_twice() -> None:
        for text in ("a", "b"):
            client.chat_postMessage(channel=CHANNEL, text=text)

    threading.Timer(0.05, post_twice).start()
    calls = slack.wait_for("chat.postMessage", count=2, timeout=5)
    assert [c.params["text"] for c in calls] == ["a", "b"]


def test_wait_for_with_predicate(slack: FakeSlackWebApi, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="a")
    client.chat_postMessage(channel="C0OTHER", text="b")
    [call] = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C0OTHER")
    assert call.params["text"] == "b"


def test_wait_for_times_out_listing_received_methods(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    client.auth_test()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"chat\.update.*received: auth\.test"):
        slack.wait_for("chat.update", timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 1.0


def test_on_call_hook_and_reset(slack: FakeSlackWebApi, client: WebClient) -> None:
    seen: list[RecordedCall] = []
    slack.on_call = seen.append
    client.chat_postMessage(channel=CHANNEL, text="x")
    assert [c.method for c in seen] == ["chat.postMessage"]
    assert seen[0].response["ok"] is True

    slack.reset()
    assert slack.calls() == []
    assert slack.messages(CHANNEL) == []


def test_response_url_replace_original_edits_the_message(
    slack: FakeSlackWebApi, client: WebClient
) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="before")["ts"]
    url = slack.new_response_url(CHANNEL, "U1", message_ts=ts)
    WebhookClient(url).send(text="after", replace_original=True)
    WebhookClient(url).send(text="just you")
    assert [m.text for m in slack.messages(CHANNEL)] == ["after"]
    assert [e.text for e in slack.ephemeral_messages(CHANNEL, "U1")] == ["just you"]
    assert len(slack.calls("response_url")) == 2


# ---------------------------------------------------------------- signing


def test_sign_is_accepted_by_slack_sdk_verifier() -> None:
    body = b"token=x&command=%2Fhotfix&text=status"
    headers = sign(SECRET, body, int(time.time()))
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_forged_tampered_or_stale_signatures_are_rejected() -> None:
    body = b"payload=%7B%7D"
    now = int(time.time())
    verifier = SignatureVerifier(SECRET)
    assert not verifier.is_valid_request(body, sign("not-the-secret", body, now))
    assert not verifier.is_valid_request(body + b"x", sign(SECRET, body, now))
    assert not verifier.is_valid_request(body, sign(SECRET, body, now - 6 * 60))


# ---------------------------------------------------------------- driver vs a real Bolt app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _build_bolt_app(client: WebClient, retries_seen: list[str | None]) -> App:
    app = App(client=client, signing_secret=SECRET)

    @app.command("/hotfix")
    def hotfix(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack(text=f"on it: {command['text']}")
        if command["text"] == "open":
            modal = {
                "type": "modal",
                "callback_id": "open_hotfix",
                "private_metadata": command["channel_id"],
                "title": {"type": "plain_text", "text": "Open hotfix"},
            }
            client.views_open(trigger_id=command["trigger_id"], view=modal)
        else:
            client.chat_postMessage(channel=command["channel_id"], text="HF-1", blocks=BUTTONS)

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, ts = body["channel"]["id"], body["message"]["ts"]
        text = f"{body['actions'][0]['value']} approved by {body['user']['id']}"
        client.chat_update(channel=channel, ts=ts, text=text, blocks=[])

    @app.view("open_hotfix")
    def submitted(ack: Ack, view: dict[str, Any], client: WebClient) -> None:
        ack()
        values = view["state"]["values"]
        summary = values["summary"]["summary_input"]["value"]
        env = values["env"]["env_select"]["selected_option"]["value"]
        client.chat_postMessage(channel=view["private_metadata"], text=f"{summary} on {env}")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        retries_seen.append(request.headers.get("x-slack-retry-num", [None])[0])
        home_view = {"type": "home", "blocks": BUTTONS[:1]}
        client.views_publish(user_id=event["user"], view=home_view)

    return app


@pytest.fixture
def retries_seen() -> list[str | None]:
    return []


@pytest.fixture
def driver(slack: FakeSlackWebApi, retries_seen: list[str | None]) -> Iterator[SlackDriver]:
    app = _build_bolt_app(WebClient(token=TOKEN, base_url=slack.base_url), retries_seen)
    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        yield SlackDriver(url, SECRET, web_api=slack)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_driver_slash_command_acks_fast_even_when_slack_is_slow(
    slack: FakeSlackWebApi, driver: SlackDriver
) -> None:
    slack.delay("chat.postMessage", 1.0)
    reply = driver.slash_command("U1", "status")
    assert reply.status == 200
    assert reply.body == "on it: status"
    assert reply.elapsed < 0.9
    [call] = slack.wait_for("chat.postMessage", timeout=5)
    assert call.params["channel"] == CHANNEL


def test_driver_button_click_updates_the_message(
    slack: FakeSlackWebApi, driver: SlackDriver
) -> None:
    driver.slash_command("U1", "status")
    [posted] = slack.wait_for("chat.postMessage")
    ts = posted.response["ts"]

    reply = driver.block_action("U2", "approve", "HF-1", CHANNEL, ts)

    assert reply.status == 200
    assert reply.sent["message"]["blocks"] == BUTTONS
    assert reply.sent["actions"][0]["text"]["text"] == "Approve"
    slack.wait_for("chat.update")
    assert [m.text for m in slack.messages(CHANNEL)] == ["HF-1 approved by U2"]


def test_driver_replays_the_same_click(slack: FakeSlackWebApi, driver: SlackDriver) -> None:
    ts = slack.post_user_message(CHANNEL, "U9", "seed")
    first = driver.block_action("U1", "approve", "HF-1", CHANNEL, ts)
    action_ts = first.sent["actions"][0]["action_ts"]
    second = driver.block_action("U1", "approve", "HF-1", CHANNEL, ts, action_ts=action_ts)
    third = driver.block_action("U1", "approve", "HF-1", CHANNEL, ts)
    assert second.sent["actions"][0]["action_ts"] == action_ts
    assert third.sent["actions"][0]["action_ts"] != action_ts
    calls = slack.wait_for("chat.update", count=3)
    assert {c.response["error"] for c in calls} == {"cant_update_message"}


def test_driver_modal_round_trip(slack: FakeSlackWebApi, driver: SlackDriver) -> None:
    driver.slash_command("U1", "open", channel_id="C0OPS")
    slack.wait_for("views.open", lambda c: c.ok)

    values: dict[str, dict[str, Any]] = {
        "summary": {"summary_input": "fix login"},
        "env": {"env_select": static_select("prod")},
    }
    reply = driver.view_submission("U1", "open_hotfix", values)

    assert reply.status == 200
    [call] = slack.wait_for("chat.postMessage")
    assert (call.params["channel"], call.params["text"]) == ("C0OPS", "fix login on prod")


def test_driver_app_home_opened_and_retry_headers(
    slack: FakeSlackWebApi, driver: SlackDriver, retries_seen: list[str | None]
) -> None:
    assert driver.app_home_opened("U1").status == 200
    assert driver.app_home_opened("U1", retry_num=1).status == 200
    slack.wait_for("views.publish", count=2)
    assert retries_seen == [None, "1"]
    assert slack.home_view("U1") is not None


def test_driver_url_verification(driver: SlackDriver) -> None:
    reply = driver.url_verification("challenge-123")
    assert (reply.status, reply.json) == (200, {"challenge": "challenge-123"})


@pytest.mark.parametrize("mode", ["forged", "stale", "missing"])
def test_driver_bad_signatures_are_refused(
    slack: FakeSlackWebApi, driver: SlackDriver, mode: Any
) -> None:
    reply = driver.slash_command("U1", "status", signature=mode)
    assert reply.status == 401
    assert slack.calls("chat.postMessage") == []
