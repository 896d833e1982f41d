"""Checks `serve` makes before it takes traffic, each failing with one line that says what to do."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.settings import Settings, SettingsError
from bot.slack_web import make_web_client


def check_slack_token(settings: Settings) -> str:
    """Ask Slack whether it accepts SLACK_BOT_TOKEN (auth.test); return the bot's user id.

    auth.test answers HTTP 200 with {"ok": false, "error": "invalid_auth"} for a token it
    does not accept, "not_authed" for none, "account_inactive" or "token_revoked" for one that
    was deactivated (https://api.slack.com/methods/auth.test, "Errors").
    """
    client = make_web_client(settings.bot_token, settings.slack_api_url, timeout=10)
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else None
        raise SettingsError(
            [
                f"SLACK_BOT_TOKEN was rejected by Slack ({code or error.response.status_code}): "
                "copy the Bot User OAuth Token again from your app's OAuth & Permissions page"
            ]
        ) from error
    except OSError as error:
        raise SettingsError(
            [
                f"cannot reach Slack at SLACK_API_URL {settings.slack_api_url} ({error}): "
                "check the network, or unset SLACK_API_URL to use Slack itself"
            ]
        ) from error
    return str(answer.get("user_id") or "")
