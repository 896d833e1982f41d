"""`/hotfix report` over signed HTTP, the chart upload through the stand-in's files API, and the
report section of App Home."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands.context import ServiceContext
from commands.report import hotfix_report
from commands.report_chart import chart_png
from standin.web_api import UPLOAD_METHOD, FakeSlackWebApi
from tests.bot_support import ANA, INCIDENT, RAJ, Bot, running
from tests.report_history import seed_history
from tests.support import MovableClock

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def bot(ctx: ServiceContext, clock: MovableClock) -> Iterator[Bot]:
    seed_history(ctx, clock)
    with running(ctx) as bot:
        yield bot


def test_report_posts_the_figures_and_uploads_the_chart(bot: Bot, ctx: ServiceContext) -> None:
    bot.command(ANA, "report --days 28")
    completed = bot.slack.wait_for("files.completeUploadExternal")[0]
    assert completed.ok, completed.response

    posted = bot.slack.wait_for("chat.postMessage")[0]
    assert posted.params["channel"] == INCIDENT
    figures = json.dumps(posted.params["blocks"], ensure_ascii=False)
    assert "Opened: 6 · reached Production: 5 · solved: 4" in figures
    assert "Open → Production: median 3 h, 90th percentile 6 h" in figures

    # The three steps of files_upload_v2, in order, and the bytes that arrived are the chart.
    asked = bot.slack.last("files.getUploadURLExternal")
    uploaded = bot.slack.last(UPLOAD_METHOD)
    assert asked.at <= uploaded.at <= completed.at
    assert uploaded.status == 200
    data = uploaded.params["bytes"]
    assert data == chart_png(hotfix_report(ctx, None, 28))
    assert data.startswith(PNG_SIGNATURE)
    assert int(asked.params["length"]) == len(data)
    assert asked.params["filename"] == "hotfix-report.png"
    assert "Nov 26: 1 opened, median 16.0 h to solve" in asked.params["alt_txt"]

    (stored,) = bot.slack.uploaded_files()
    assert stored.data == data and stored.shared_in == [INCIDENT]
    assert stored.title == "Hotfixes, all applications, last 28 days"
    shared = [m for m in bot.slack.messages(INCIDENT) if m.files]
    assert [f["id"] for m in shared for f in m.files or []] == [stored.id]


def test_a_refused_upload_says_why(bot: Bot) -> None:
    bot.slack.fail_next("files.completeUploadExternal", error="not_in_channel")
    bot.command(RAJ, "report Back Office")
    reply = bot.wait_private(RAJ, "invite me")
    assert "could not share the chart here (not_in_channel)" in reply
    figures = json.dumps(bot.slack.last("chat.postMessage").params["blocks"])
    assert "Opened: 2" in figures


def test_a_refused_post_gives_the_figures_privately(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", error="channel_not_found")
    bot.command(RAJ, "report Back Office")
    reply = bot.wait_private(RAJ, "invite me")
    assert "could not share the report here (channel_not_found)" in reply
    assert "Opened: 2" in reply
    assert bot.slack.calls("files.getUploadURLExternal") == []


def test_bad_input_is_answered_privately_and_uploads_nothing(bot: Bot) -> None:
    bot.command(ANA, "report --days 0")
    bot.wait_private(ANA, "--days must be between 1 and")
    bot.command(ANA, "report Nowhere")
    bot.wait_private(ANA, "Nowhere")
    assert bot.slack.calls("files.getUploadURLExternal") == []
    assert bot.slack.calls("chat.postMessage") == []


def test_app_home_has_the_report_section(bot: Bot) -> None:
    bot.driver.app_home_opened(RAJ)
    published = bot.slack.wait_for("views.publish")[0]
    home = json.dumps(published.params["view"], ensure_ascii=False)
    assert "How hotfixes go · last 30 days" in home
    assert "Opened: 6 · reached Production: 5 · solved: 4" in home


# the stand-in's files API, through slack-sdk's own client --------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlackWebApi]:
    with FakeSlackWebApi() as fake:
        yield fake


def test_files_upload_v2_against_the_stand_in(slack: FakeSlackWebApi) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    data = PNG_SIGNATURE + b"rest of a picture"
    response = client.files_upload_v2(
        channel="C0ANY", file=data, filename="a.png", title="A", alt_txt="a picture"
    )
    file = response["file"]
    assert (file["name"], file["title"], file["mimetype"], file["size"]) == (
        "a.png",
        "A",
        "image/png",
        len(data),
    )
    assert file["channels"] == ["C0ANY"]
    (stored,) = slack.uploaded_files()
    assert stored.data == data and stored.alt_txt == "a picture"
    upload_url = slack.last("files.getUploadURLExternal").response["upload_url"]
    assert upload_url.startswith(slack.url)  # never files.slack.com


def test_files_api_errors_as_slack_names_them(slack: FakeSlackWebApi) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as empty:
        client.files_getUploadURLExternal(filename="a.png", length=0)
    assert empty.value.response["error"] == "missing_argument"
    with pytest.raises(SlackApiError) as long_alt:
        client.files_getUploadURLExternal(filename="a.png", length=3, alt_txt="x" * 1001)
    assert long_alt.value.response["error"] == "alt_txt_too_large"
    issued = client.files_getUploadURLExternal(filename="a.png", length=3)
    # Completed before any byte arrived: Slack has no such file yet.
    with pytest.raises(SlackApiError) as early:
        client.files_completeUploadExternal(files=[{"id": issued["file_id"]}], channel_id="C1")
    assert early.value.response["error"] == "file_not_found"
    assert slack.messages("C1") == []
