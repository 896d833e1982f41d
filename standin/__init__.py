"""Local stand-in for Slack, used by tests and by the demo.

Nothing in this package talks to slack.com:

* :class:`~standin.web_api.FakeSlackWebApi` serves the Slack Web API (and ``response_url``
  webhooks) over real HTTP on 127.0.0.1, for ``slack_sdk.WebClient(base_url=...)``.
* :class:`~standin.slack_client.SlackDriver` plays Slack's side toward a Bolt app: signed slash
  commands, button clicks, modal submissions and Events API callbacks.
* :mod:`standin.signing` signs request bodies exactly the way Slack does.
"""

from standin.signing import sign
from standin.slack_client import Reply, SlackDriver
from standin.web_api import FakeSlackWebApi, RecordedCall
from standin.workspace import EphemeralMessage, Message

__all__ = [
    "EphemeralMessage",
    "FakeSlackWebApi",
    "Message",
    "RecordedCall",
    "Reply",
    "SlackDriver",
    "sign",
]
