"""Who is acting, and the permission rules: owners, approvers and admins change hotfixes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from commands.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: str
    is_admin: bool = False


def require_member(
    actor: Actor, owners: Collection[str], approvers: Collection[str], what: str
) -> None:
    if actor.is_admin or actor.user_id in owners or actor.user_id in approvers:
        return
    raise PermissionDenied(
        f"only the owners and approvers of this application (or an admin) may {what}; "
        "ask one of them, or ask an admin to add you with `/hotfix app owners`"
    )


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"only an admin may {what}")


def require_approver(
    actor: Actor,
    approvers: Collection[str],
    requester: str | None,
    what: str = "approve or reject a Tag & Deploy",
) -> None:
    if actor.user_id == requester:
        raise PermissionDenied(
            "you requested this Tag & Deploy, so another person must approve it (four eyes)"
        )
    if actor.user_id in approvers or actor.is_admin:
        return
    raise PermissionDenied(
        f"only the application's approvers may {what}; ask one of them (see `/hotfix status`)"
    )
