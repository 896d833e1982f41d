"""The LifeTime client against LifeTime's PUBLISHED answers, replayed byte for byte.

Each canned answer below is written out from LifeTime's published API definition: the swagger
``src/ref/apis/auto/resources/lifetime-api.json`` in the public OutSystems/docs-product repository
(its "produces", response codes, definitions and "example" values), and, where noted, from
OutSystems' own client of the same API (OutSystems/outsystems-pipeline, ``outsystems/lifetime/``).
They do not come from the bot's stand-in, so the client cannot share its misreadings.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from commands.deployers.lifetime_api import (
    API_PATH,
    FORCE_FINISHED,
    LifeTimeClient,
    LifeTimeError,
    LifeTimeRefused,
)

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
APP_KEY = "b3a5c1f0-0000-4000-8000-000000000001"
ENV_KEY = "e1e1e1e1-0000-4000-8000-000000000002"
VERSION_KEY = "a7a7a7a7-0000-4000-8000-000000000003"
PLAN_KEY = "d2d2d2d2-0000-4000-8000-000000000004"

# ApplicationVersion_v2 (swagger definitions): Key, ApplicationKey, Version, ChangeLog, CreatedOn
# ("2014-12-31T23:59:59.938Z" is the definition's example), InUse, MobileVersions...
APPLICATION_VERSION = {
    "Key": VERSION_KEY,
    "ApplicationKey": APP_KEY,
    "Version": "1.7",
    "ChangeLog": "",
    "CreatedOn": "2014-12-31T23:59:59.938Z",
    "InUse": True,
    "MobileVersions": [],
    "PrimaryColor": "",
    "NativeHash": "",
}
# DeploymentMessageListTextTextRecord: DeploymentStatus, Info, DeploymentLog of DeploymentMessage
# (Instant, Message, Type [Info|Warning|Error]); all three fields are "required".
FORCE_FINISHED_STATUS = {
    "DeploymentStatus": "force_finished",
    "Info": "",
    "DeploymentLog": [
        {"Instant": "2014-12-31T23:59:58.938Z", "Message": "Deployment started.", "Type": "Info"},
        {
            "Instant": "2014-12-31T23:59:59.938Z",
            "Message": "Deployment force finished.",
            "Type": "Warning",
        },
    ],
}
# Deployment_v2 (swagger definitions), as GET /deployments/ lists them.
DEPLOYMENT = {
    "Key": PLAN_KEY,
    "SourceEnvironmentKey": ENV_KEY,
    "TargetEnvironmentKey": "f0f0f0f0-0000-4000-8000-000000000005",
    "DetailsURL": "",
    "Notes": "HF-1 via hotfix-bot",
    "CreatedOn": "2014-12-31T23:59:59.938Z",
    "CreatedBy": "hotfix-bot",
    "CreatedByUsername": "hotfix-bot",
    "SavedOn": "2014-12-31T23:59:59.938Z",
    "SavedBy": "hotfix-bot",
    "SavedByUsername": "hotfix-bot",
    "ApplicationOperations": [
        {"ApplicationKey": APP_KEY, "ApplicationVersionKey": VERSION_KEY},
    ],
}
# Exception (swagger definitions): {"Errors": [...], "StatusCode": n}.
CANNOT_DELETE = {"Errors": [f"Deployment with key {PLAN_KEY} cannot be deleted"], "StatusCode": 400}


@dataclass
class Canned:
    """One published answer: status, content type and the body as LifeTime sends it."""

    status: int
    content_type: str | None = None
    body: str = ""


@dataclass
class Replay:
    """An HTTP server that answers each (method, path) with its canned answer."""

    answers: dict[tuple[str, str], Canned] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def replay() -> Iterator[Replay]:
    state = Replay()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = url.path[len(API_PATH) :]
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            state.seen.append((self.command, path, query))
            canned = state.answers.get((self.command, path), Canned(404, JSON_TYPE, "{}"))
            data = canned.body.encode()
            self.send_response(canned.status)
            if canned.content_type:
                self.send_header("Content-Type", canned.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}{API_PATH}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(replay: Replay) -> Iterator[LifeTimeClient]:
    with LifeTimeClient(replay.base_url, "token", timeout=2.0, retries=0) as api:
        yield api


def test_a_new_plan_key_is_read_from_a_text_plain_body(
    replay: Replay, client: LifeTimeClient
) -> None:
    # POST /deployments/: "produces": ["text/plain"], 200 "The key of the newly created
    # deployment" as a bare string (swagger); the pipeline reads it with a workaround because
    # "the response is not JSON, just text" (lifetime_base.send_post_request).
    replay.answers[("POST", "/deployments/")] = Canned(200, TEXT_TYPE, PLAN_KEY)
    assert client.create_deployment(ENV_KEY, "target", VERSION_KEY, "HF-1") == PLAN_KEY


def test_a_plan_key_sent_as_a_json_string_is_accepted_too(
    replay: Replay, client: LifeTimeClient
) -> None:
    replay.answers[("POST", "/deployments/")] = Canned(201, JSON_TYPE, json.dumps(PLAN_KEY))
    assert client.create_deployment(ENV_KEY, "target", VERSION_KEY, "HF-1") == PLAN_KEY


def test_a_plan_answer_that_is_not_a_key_is_an_error_naming_the_catalog_url(
    replay: Replay, client: LifeTimeClient
) -> None:
    replay.answers[("POST", "/deployments/")] = Canned(200, JSON_TYPE, '{"Key": 1}')
    with pytest.raises(LifeTimeError, match=r"deployer\.url") as caught:
        client.create_deployment(ENV_KEY, "target", VERSION_KEY, "HF-1")
    assert "LIFETIME_URL" not in caught.value.message


def test_reading_a_version_sends_the_required_include_modules_and_reads_two_numbers(
    replay: Replay, client: LifeTimeClient
) -> None:
    # GET /applications/{ApplicationKey}/versions/{VersionKey}/: IncludeModules "required": true.
    path = f"/applications/{APP_KEY}/versions/{VERSION_KEY}/"
    replay.answers[("GET", path)] = Canned(200, JSON_TYPE, json.dumps(APPLICATION_VERSION))
    assert client._version_number(APP_KEY, VERSION_KEY) == "1.7"
    method, seen_path, query = replay.seen[-1]
    assert (method, seen_path) == ("GET", path)
    assert query.get("IncludeModules") in ("true", "false")


def test_listing_deployments_sends_dates_not_date_times(
    replay: Replay, client: LifeTimeClient
) -> None:
    # GET /deployments/: MinDate and MaxDate are "format": "date", "x-example": "2014-12-31".
    replay.answers[("GET", "/deployments/")] = Canned(200, JSON_TYPE, json.dumps([DEPLOYMENT]))
    plans = client.deployments(datetime(2014, 12, 31, 12, 0, tzinfo=UTC))
    _, _, query = replay.seen[-1]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", query["MinDate"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", query["MaxDate"])
    assert query["MinDate"] == "2014-12-31"
    assert [plan.key for plan in plans] == [PLAN_KEY]


def test_no_deployments_is_a_204_without_a_body(replay: Replay, client: LifeTimeClient) -> None:
    replay.answers[("GET", "/deployments/")] = Canned(204)
    assert client.deployments(datetime(2014, 12, 31, tzinfo=UTC)) == []


def test_a_force_finished_status_with_its_log_is_read(
    replay: Replay, client: LifeTimeClient
) -> None:
    path = f"/deployments/{PLAN_KEY}/status/"
    replay.answers[("GET", path)] = Canned(200, JSON_TYPE, json.dumps(FORCE_FINISHED_STATUS))
    status = client.status(PLAN_KEY)
    assert status.status == FORCE_FINISHED
    assert status.is_terminal and not status.succeeded
    assert [line.message for line in status.log] == [
        "Deployment started.",
        "Deployment force finished.",
    ]


def test_an_undocumented_status_is_kept_verbatim(replay: Replay, client: LifeTimeClient) -> None:
    path = f"/deployments/{PLAN_KEY}/status/"
    body = {**FORCE_FINISHED_STATUS, "DeploymentStatus": "quantum_superposition"}
    replay.answers[("GET", path)] = Canned(200, JSON_TYPE, json.dumps(body))
    status = client.status(PLAN_KEY)
    assert status.status == "quantum_superposition"
    assert not status.is_terminal


def test_deleting_a_saved_plan_is_a_204_and_a_started_one_is_refused(
    replay: Replay, client: LifeTimeClient
) -> None:
    # DELETE /deployments/{DeploymentKey}/: 204, or 400 "cannot be deleted" (only "saved").
    path = f"/deployments/{PLAN_KEY}/"
    replay.answers[("DELETE", path)] = Canned(204)
    client.delete_deployment(PLAN_KEY)
    replay.answers[("DELETE", path)] = Canned(400, JSON_TYPE, json.dumps(CANNOT_DELETE))
    with pytest.raises(LifeTimeRefused, match="cannot be deleted"):
        client.delete_deployment(PLAN_KEY)


def test_a_command_is_accepted_with_a_202_and_no_body(
    replay: Replay, client: LifeTimeClient
) -> None:
    # POST /deployments/{DeploymentKey}/{Command}/: 202 "Command <Command> executed".
    replay.answers[("POST", f"/deployments/{PLAN_KEY}/start/")] = Canned(202)
    client.start(PLAN_KEY)
