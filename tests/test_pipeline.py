from __future__ import annotations

import pytest

from commands.errors import InvalidInput
from commands.pipeline import DEFAULT_ENVIRONMENTS, Pipeline


def test_default_pipeline_and_its_hotfix_environment() -> None:
    pipeline = Pipeline.default()
    assert [e.name for e in pipeline.environments] == [n for n, _ in DEFAULT_ENVIRONMENTS]
    assert pipeline.production.name == "Production"
    assert pipeline.hotfix_environment.name == "Pre-Production"


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("dev", "Development"),
        ("QA", "Quality Assurance"),
        ("quality assurance", "Quality Assurance"),
        ("PreProd", "Pre-Production"),
        (" prod ", "Production"),
    ],
)
def test_environments_found_by_name_or_alias_case_insensitively(typed: str, name: str) -> None:
    assert Pipeline.default().find(typed).name == name


def test_unknown_environment_names_the_known_ones_and_the_closest() -> None:
    with pytest.raises(InvalidInput) as raised:
        Pipeline.default().find("qaa")
    assert "unknown environment 'qaa'" in raised.value.message
    assert "Did you mean 'qa'" in raised.value.message
    assert "Quality Assurance (qa)" in raised.value.message


def test_propagation_goes_backward_closest_to_production_first() -> None:
    order = [e.name for e in Pipeline.default().propagation_order()]
    assert order == ["Quality Assurance", "Development"]


def test_configured_hotfix_environment_changes_the_propagation() -> None:
    pipeline = Pipeline.build(DEFAULT_ENVIRONMENTS, "qa")
    assert pipeline.hotfix_environment.name == "Quality Assurance"
    assert [e.name for e in pipeline.propagation_order()] == ["Development"]
    assert [e.name for e in pipeline.between_hotfix_and_production()] == ["Pre-Production"]


def test_pipeline_refusals() -> None:
    with pytest.raises(InvalidInput, match="cannot be Production"):
        Pipeline.build(DEFAULT_ENVIRONMENTS, "prod")
    with pytest.raises(InvalidInput, match="at least two"):
        Pipeline.build([("Production", "prod")])
    with pytest.raises(InvalidInput, match="used twice"):
        Pipeline.build([("Dev", "d"), ("Prod", "D")])
