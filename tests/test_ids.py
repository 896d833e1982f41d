"""Button values and modal private_metadata: compact JSON inside Slack's limits."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import ButtonElement

from bot.ids import (
    BUTTON_VALUE_LIMIT,
    PRIVATE_METADATA_LIMIT,
    ButtonValue,
    ModalContext,
    ValueTooLong,
)

# The catalog's own limits on names (commands/catalog_file.py).
ENVIRONMENT_NAME_LIMIT = 80
MODULE_NAME_LIMIT = 120


@pytest.mark.parametrize(
    "value",
    [
        ButtonValue("HF-12"),
        ButtonValue("HF-12", extra="1.7.1"),
        ButtonValue("HF-12", "Quality Assurance", "Pay|ments"),
        ButtonValue("HF-12", 'Q "A" |', 'Check\\out {"x": 1}|||', "é ✅"),
    ],
)
def test_button_values_round_trip_whatever_the_names_hold(value: ButtonValue) -> None:
    encoded = value.encode()
    assert ButtonValue.decode(encoded) == value
    assert json.loads(encoded)["hotfix"] == "HF-12"


def test_the_longest_names_the_catalog_allows_fit_in_a_button_value() -> None:
    # The worst case for JSON: characters it escapes, six characters each for control ones.
    worst = ButtonValue(
        "HF-999999999",
        "\u0001" * ENVIRONMENT_NAME_LIMIT,
        "\u0001" * MODULE_NAME_LIMIT,
        "9999.9999.9999",
    )
    encoded = worst.encode()
    assert len(encoded) <= BUTTON_VALUE_LIMIT
    assert ButtonValue.decode(encoded) == worst
    # slack-sdk checks the same limit when the message is serialized.
    button = ButtonElement(text="Merged", action_id="hotfix_merged:0", value=encoded)
    assert button.to_dict()["value"] == encoded


def test_a_value_over_slacks_limit_is_refused_when_built_not_cut() -> None:
    with pytest.raises(ValueTooLong, match="2000"):
        ButtonValue("HF-1", module="x" * BUTTON_VALUE_LIMIT).encode()
    with pytest.raises(ValueTooLong, match="3000"):
        ModalContext("skip", module="x" * PRIVATE_METADATA_LIMIT).encode()


def test_modal_context_round_trips_names_with_bars() -> None:
    context = ModalContext("skip", "HF-3", "Q|A", "Pay|ments", "C0INCIDENT", "1700000000.000100")
    encoded = context.encode()
    assert len(encoded) <= PRIVATE_METADATA_LIMIT
    assert ModalContext.decode(encoded) == context
    assert ModalContext.decode("") == ModalContext("")


def test_values_of_messages_posted_before_json_are_still_read() -> None:
    # Living messages outlive a release: their buttons still carry `HF-1|environment|module`.
    assert ButtonValue.decode("HF-1|Quality Assurance|Checkout") == ButtonValue(
        "HF-1", "Quality Assurance", "Checkout"
    )
    assert ButtonValue.decode("HF-1|||1h") == ButtonValue("HF-1", extra="1h")
    assert ModalContext.decode("skip|HF-1|qa|Checkout|C1|1.2") == ModalContext(
        "skip", "HF-1", "qa", "Checkout", "C1", "1.2"
    )
