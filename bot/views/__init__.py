"""Block Kit views: the service layer's snapshots turned into Slack messages, modals and Home.

Imports only `commands.results`, `commands.report_results`, `commands.describe`,
`commands.lifecycle`, `commands.refs` and `bot.ids`: no storage, no SQL, no Web API calls.
Every view is built with slack-sdk's Block Kit classes, so Slack's limits are checked when it is
serialized (`to_dict()`).
"""

from bot.views.home import home_view
from bot.views.hotfix_message import (
    event_text,
    fallback_text,
    hotfix_message,
    thread_line,
    thread_line_after,
)
from bot.views.modals import open_modal, reason_modal, version_modal
from bot.views.nudges import (
    escalation_message,
    nudge_message,
    regression_warning,
    reminder_thread_line,
    snoozed_reply,
)
from bot.views.replies import (
    application_reply,
    apps_reply,
    done_reply,
    error_reply,
    help_reply,
    history_reply,
    list_reply,
    not_here_reply,
    status_reply,
)
from bot.views.report import report_reply, report_title
from bot.views.text import mention

__all__ = [
    "application_reply",
    "apps_reply",
    "done_reply",
    "error_reply",
    "escalation_message",
    "event_text",
    "fallback_text",
    "help_reply",
    "history_reply",
    "home_view",
    "hotfix_message",
    "list_reply",
    "mention",
    "not_here_reply",
    "nudge_message",
    "open_modal",
    "reason_modal",
    "regression_warning",
    "reminder_thread_line",
    "report_reply",
    "report_title",
    "snoozed_reply",
    "status_reply",
    "thread_line",
    "thread_line_after",
    "version_modal",
]
