"""Sign request bodies the way Slack does (signing secret, ``v0`` scheme).

See https://docs.slack.dev/authentication/verifying-requests-from-slack/
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
SIGNATURE_VERSION = "v0"


def signature(signing_secret: str, body: bytes, timestamp: int) -> str:
    """Return ``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``."""
    base = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def sign(signing_secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Return the two headers Slack adds to every request it sends to an app."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(signing_secret, body, timestamp),
    }
