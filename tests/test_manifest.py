"""The Slack app manifest is valid against Slack's schema and wires the bot's endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = PROJECT_ROOT / "app_manifest.yaml"
SCHEMA_PATH = PROJECT_ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"
EVENTS_PATH = "/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_is_valid_against_slack_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"Slack manifest schema not found at {SCHEMA_PATH}")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_manifest_declares_version_1_metadata(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"] == {"major_version": 1, "minor_version": 1}
    assert manifest["display_information"]["name"] == "hotfix-bot"


def test_slash_command_is_hotfix_served_by_the_events_endpoint(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/hotfix"]
    assert commands[0]["url"].endswith(EVENTS_PATH)
    # Mentions must arrive as user ids (<@U…>) for `/hotfix app owners`.
    assert commands[0]["should_escape"] is True


def test_events_and_interactivity_point_to_the_events_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    assert settings["socket_mode_enabled"] is False


def test_app_home_opened_is_subscribed(manifest: dict[str, Any]) -> None:
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_bot_scopes_are_exactly_the_ones_the_bot_needs(manifest: dict[str, Any]) -> None:
    expected = {
        "chat:write",
        "commands",
        "im:write",
        "users:read",
        "chat:write.public",
        "files:write",  # the report's chart (files.getUploadURLExternal)
        # conversations.history / .replies: read back what was posted before sending again
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
    }
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(expected)
    assert set(manifest["oauth_config"]["scopes"]) == {"bot"}
