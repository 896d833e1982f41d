"""Reading `view.state.values`, and answering a submission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack

from bot import observe
from bot.ids import ModalContext
from bot.services import BotServices
from commands.errors import DomainError
from commands.results import Outcome


@dataclass(frozen=True)
class Submission:
    user: str
    context: ModalContext
    values: dict[str, dict[str, Any]]
    request_key: str

    @classmethod
    def of(cls, body: dict[str, Any], view: dict[str, Any]) -> Submission:
        user = body["user"]["id"]
        return cls(
            user=user,
            context=ModalContext.decode(view.get("private_metadata", "")),
            values=view.get("state", {}).get("values", {}),
            request_key=f"view:{view.get('id')}:{view.get('hash', '')}",
        )

    def text(self, field: tuple[str, str]) -> str:
        state = self.values.get(field[0], {}).get(field[1], {})
        return str(state.get("value") or "").strip()

    def option(self, field: tuple[str, str]) -> str:
        state = self.values.get(field[0], {}).get(field[1], {})
        selected = state.get("selected_option") or {}
        return str(selected.get("value") or "")

    def users(self, field: tuple[str, str]) -> list[str]:
        state = self.values.get(field[0], {}).get(field[1], {})
        return list(state.get("selected_users") or [])


def apply_or_show_error(
    ack: Ack,
    services: BotServices,
    block_id: str | Callable[[DomainError], str],
    change: Callable[[], Outcome],
) -> None:
    """Run the change; a refusal is shown on the modal's field and the modal stays open.

    `block_id` names the field, or picks it for each refusal (a form with several fields).
    """
    try:
        outcome = change()
    except DomainError as error:
        observe.note_outcome(observe.REFUSED)
        field = block_id if isinstance(block_id, str) else block_id(error)
        ack(response_action="errors", errors={field: error.message[:2000]})
        return
    ack()
    services.deliverer.deliver(outcome.work)
