"""Typed domain errors. Each carries a message a person can act on.

The Slack side turns any of these into an ephemeral message; the CLI into a non-zero exit.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal: the operation was not applied and nothing changed."""

    kind = "refused"

    def __init__(self, message: str, *, about: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Which input the refusal is about ("application"), when it is one: a form shows the
        # message on that field.
        self.about = about


class InvalidInput(DomainError):
    kind = "invalid"


class NotFound(DomainError):
    kind = "not_found"


class Refused(DomainError):
    """The request is well formed but the hotfix's state does not allow it."""

    kind = "refused"


class PermissionDenied(DomainError):
    kind = "forbidden"


class Conflict(DomainError):
    """Someone else changed the same thing at the same moment."""

    kind = "conflict"


class AlreadyApplied(DomainError):
    """The same request (a Slack retry, a double click) was applied before."""

    kind = "duplicate"
