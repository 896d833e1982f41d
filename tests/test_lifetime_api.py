"""The LifeTime API client against the fake LifeTime, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from commands.deployers.lifetime_api import (
    DeploymentStatus,
    LifeTimeClient,
    LifeTimeError,
    LifeTimeRefused,
    LifeTimeUnauthorized,
    LifeTimeUnavailable,
)
from standin.lifetime import FakeLifeTime

APP = "eCommerce"
PIPELINE = [
    ("Development", "Development"),
    ("Quality Assurance", "Test"),
    ("Pre-Production", "Test"),
    ("Production", "Production"),
]


@pytest.fixture
def lifetime() -> Iterator[FakeLifeTime]:
    """eCommerce 1.7.0 everywhere; Pre-Production carries an untagged fix (1.7.0+)."""
    with FakeLifeTime() as fake:
        for order, (name, kind) in enumerate(PIPELINE):
            fake.add_environment(name, order, kind)
        fake.add_application(APP, ["Checkout", "Catalog"])
        fake.add_application("Back Office", ["Orders"])
        for name, _ in PIPELINE:
            fake.set_running(APP, name, "1.7.0", modified=name == "Pre-Production")
        yield fake


@pytest.fixture
def client(lifetime: FakeLifeTime) -> Iterator[LifeTimeClient]:
    with LifeTimeClient(lifetime.base_url, lifetime.token, timeout=2.0, backoff=0.01) as api:
        yield api


def _calls(lifetime: FakeLifeTime, method: str, path: str) -> int:
    return sum(1 for call in lifetime.calls if call == (method, path))


def _tag_and_plan(client: LifeTimeClient, version: str = "1.7.1") -> str:
    """What Tag & Deploy does: tag Pre-Production's fix, plan it for Production."""
    source = client.environment_by_name("Pre-Production")
    target = client.environment_by_name("Production")
    app = client.application_by_name(APP)
    running = client.application_in_environment(source.key, app.key)
    version_key = client.create_version(
        source.key, app.key, version, "Fix checkout totals", running.module_version_keys
    )
    return client.create_deployment(source.key, target.key, version_key, f"Hotfix {version}")


def _follow(client: LifeTimeClient, key: str) -> list[DeploymentStatus]:
    """Read the status until the deployment is over or waits for a person."""
    seen: list[DeploymentStatus] = []
    for _ in range(10):
        seen.append(client.status(key))
        if seen[-1].is_terminal or seen[-1].needs_intervention:
            return seen
    raise AssertionError(f"deployment {key} never settled: {[s.status for s in seen]}")


def _production_version(client: LifeTimeClient) -> str:
    production = client.environment_by_name("Production")
    app = client.application_by_name(APP)
    return client.application_in_environment(production.key, app.key).label


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------ environments and apps


def test_environments_come_in_pipeline_order_and_are_found_by_name(client: LifeTimeClient) -> None:
    environments = client.environments()

    assert [env.name for env in environments] == [name for name, _ in PIPELINE]
    assert [env.order for env in environments] == [0, 1, 2, 3]
    production = client.environment_by_name("  production ")
    assert (production.name, production.kind) == ("Production", "Production")
    assert production == environments[-1]


def test_an_unknown_environment_names_the_known_ones(client: LifeTimeClient) -> None:
    with pytest.raises(LifeTimeError) as caught:
        client.environment_by_name("Prod")

    assert "'Prod'" in caught.value.message
    assert "Development, Quality Assurance, Pre-Production, Production" in caught.value.message


def test_applications_are_found_by_name_and_typos_get_suggestions(client: LifeTimeClient) -> None:
    assert [app.name for app in client.applications()] == ["Back Office", APP]
    assert client.application_by_name("ECOMMERCE").name == APP

    with pytest.raises(LifeTimeError, match="did you mean eCommerce"):
        client.application_by_name("eComerce")


def test_app_in_environment_gives_the_version_number_and_is_modified(
    client: LifeTimeClient,
) -> None:
    app = client.application_by_name(APP)
    pre = client.application_in_environment(
        client.environment_by_name("Pre-Production").key, app.key
    )
    prod = client.application_in_environment(client.environment_by_name("Production").key, app.key)

    assert (pre.version, pre.is_modified, pre.label) == ("1.7.0", True, "1.7.0+")
    assert (prod.version, prod.is_modified, prod.label) == ("1.7.0", False, "1.7.0")
    assert pre.version_key == prod.version_key
    assert len(pre.module_version_keys) == len(prod.module_version_keys) == 2
    assert set(pre.module_version_keys).isdisjoint(prod.module_version_keys)


def test_an_application_not_deployed_in_the_environment_is_refused(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    back_office = client.application_by_name("Back Office")
    production = client.environment_by_name("Production")

    with pytest.raises(LifeTimeRefused) as caught:
        client.application_in_environment(production.key, back_office.key)

    assert caught.value.status == 404
    assert "Back Office is not deployed in Production" in caught.value.message


# -------------------------------------------------------------------------- versions


def test_create_version_tags_the_running_code_and_refuses_a_duplicate(
    client: LifeTimeClient,
) -> None:
    source = client.environment_by_name("Pre-Production")
    app = client.application_by_name(APP)
    before = client.application_in_environment(source.key, app.key)

    key = client.create_version(source.key, app.key, "1.7.1", "Fix", before.module_version_keys)

    after = client.application_in_environment(source.key, app.key)
    assert (after.version, after.version_key, after.label) == ("1.7.1", key, "1.7.1")
    assert after.module_version_keys == before.module_version_keys
    with pytest.raises(LifeTimeRefused) as caught:
        client.create_version(source.key, app.key, "1.7.1", "Again", after.module_version_keys)
    assert caught.value.status == 400
    assert "LifeTime refused to tag version 1.7.1 (400)" in caught.value.message
    assert "Version 1.7.1 already exists for application eCommerce" in caught.value.message


def test_create_version_is_refused_when_modules_changed_since_they_were_read(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    source = client.environment_by_name("Pre-Production")
    app = client.application_by_name(APP)
    read = client.application_in_environment(source.key, app.key)
    lifetime.set_running(APP, "Pre-Production", "1.7.0", modified=True)  # someone publishes

    with pytest.raises(LifeTimeRefused, match="changed since they were read"):
        client.create_version(source.key, app.key, "1.7.1", "Fix", read.module_version_keys)

    assert lifetime.running_version(APP, "Pre-Production") == "1.7.0"


# ----------------------------------------------------------------------- deployments


def test_create_deployment_reads_back_the_plan_without_conflicts(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    key = _tag_and_plan(client)

    plan, conflicts = client.deployment(key)

    app = client.application_by_name(APP)
    source = client.environment_by_name("Pre-Production")
    assert conflicts == []
    assert plan.key == key
    assert plan.source_environment_key == source.key
    assert plan.target_environment_key == client.environment_by_name("Production").key
    assert plan.operations == (
        (app.key, client.application_in_environment(source.key, app.key).version_key),
    )
    assert plan.notes == "Hotfix 1.7.1"
    assert plan.created_on.tzinfo is not None
    assert lifetime.deployment_statuses == {key: "saved"}


def test_conflicts_are_reported_as_readable_sentences(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.add_conflict_for_next_deployment("Checkout needs the new Payments API")

    _, conflicts = client.deployment(_tag_and_plan(client))

    assert conflicts == ["Checkout needs the new Payments API (Producer Element Missing)"]


def test_start_then_status_progresses_to_success_and_production_runs_the_hotfix(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    key = _tag_and_plan(client)
    assert client.status(key).status == "saved"

    client.start(key)
    seen = _follow(client, key)

    assert [s.status for s in seen] == ["running", "running", "finished_successful"]
    assert [len(s.log) for s in seen] == [2, 3, 4]
    final = seen[-1]
    assert final.is_terminal and final.succeeded and not final.needs_intervention
    assert final.log[0].message == "Deployment started by hotfix-bot."
    assert final.log[1].message == "Uploading modules from Pre-Production to Production"
    assert final.log[-1].message == "Finished deploying eCommerce 1.7.1 successfully."
    assert final.log[0].instant.tzinfo is not None
    assert lifetime.running_version(APP, "Production") == "1.7.1"
    assert _production_version(client) == "1.7.1"


def test_needs_user_intervention_then_continue_finishes(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.script_next_deployment(["running", "needs_user_intervention"])
    key = _tag_and_plan(client)
    client.start(key)

    paused = _follow(client, key)[-1]
    assert paused.needs_intervention and not paused.is_terminal
    assert paused.info
    assert _production_version(client) == "1.7.0"

    client.continue_(key)
    seen = _follow(client, key)

    assert [s.status for s in seen] == ["running", "finished_successful"]
    assert seen[-1].succeeded
    assert _production_version(client) == "1.7.1"


def test_abort_leaves_production_as_it_was(lifetime: FakeLifeTime, client: LifeTimeClient) -> None:
    key = _tag_and_plan(client)
    client.start(key)
    assert client.status(key).status == "running"

    client.abort(key)

    final = client.status(key)
    assert final.status == "aborted"
    assert final.is_terminal and not final.succeeded
    assert final.log[-1].message == "Deployment aborted by hotfix-bot."
    assert lifetime.deployment_statuses[key] == "aborted"
    assert _production_version(client) == "1.7.0"


def test_finished_with_errors_is_terminal_and_not_a_success(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.script_next_deployment(["running", "finished_with_errors"])
    key = _tag_and_plan(client)
    client.start(key)

    final = _follow(client, key)[-1]

    assert final.status == "finished_with_errors"
    assert final.is_terminal and not final.succeeded
    assert "compilation errors" in final.log[-1].message
    assert lifetime.running_version(APP, "Production") == "1.7.0"


def test_a_command_invalid_in_the_current_state_is_refused(client: LifeTimeClient) -> None:
    key = _tag_and_plan(client)

    with pytest.raises(LifeTimeRefused) as caught:
        client.continue_(key)

    assert caught.value.status == 400
    assert f"LifeTime refused to continue deployment {key} (400)" in caught.value.message
    assert "its status is saved" in caught.value.message
    assert "may have gone through" not in caught.value.message  # nothing was retried


def test_an_unknown_deployment_is_refused_with_lifetimes_message(client: LifeTimeClient) -> None:
    with pytest.raises(LifeTimeRefused) as caught:
        client.status("no-such-key")

    assert caught.value.status == 404
    assert "Deployment with key no-such-key not found." in caught.value.message


def test_deployments_since_lists_a_plan_another_team_created(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert client.deployments(since) == []  # LifeTime answers 204 when there are none
    lifetime.create_deployment_plan(
        "Quality Assurance", "Production", APP, created_on=since - timedelta(hours=1)
    )
    key = lifetime.create_deployment_plan(
        "Quality Assurance", "Production", APP, notes="Release 1.8 early"
    )

    plans = client.deployments(since)

    production = client.environment_by_name("Production")
    assert [plan.key for plan in plans] == [key]
    assert plans[0].target_environment_key == production.key
    assert plans[0].notes == "Release 1.8 early"
    assert client.deployments(since, target_environment_key=production.key) == plans
    other = client.environment_by_name("Development").key
    assert client.deployments(since, target_environment_key=other) == []


# -------------------------------------------------------------------------- failures


def test_an_expired_token_is_unauthorized_with_a_message_saying_what_to_do(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.expire_token()

    with pytest.raises(LifeTimeUnauthorized) as caught:
        client.environments()

    assert caught.value.status == 401
    assert "expired" in caught.value.message
    assert "set LIFETIME_TOKEN" in caught.value.message
    assert _calls(lifetime, "GET", "/environments/") == 1  # a 401 is not retried
    lifetime.renew_token("renewed-token")
    with LifeTimeClient(lifetime.base_url, "renewed-token") as renewed:
        assert len(renewed.environments()) == len(PIPELINE)


def test_503_twice_then_success_is_retried(lifetime: FakeLifeTime, client: LifeTimeClient) -> None:
    lifetime.fail_next("GET", "/environments/", 503, times=2)

    assert len(client.environments()) == len(PIPELINE)
    assert _calls(lifetime, "GET", "/environments/") == 3


def test_500_on_a_get_is_retried(lifetime: FakeLifeTime, client: LifeTimeClient) -> None:
    lifetime.fail_next("GET", "/applications/", 500)

    assert client.application_by_name(APP).name == APP
    assert _calls(lifetime, "GET", "/applications/") == 2


def test_retry_after_is_honoured(lifetime: FakeLifeTime, client: LifeTimeClient) -> None:
    lifetime.fail_next("GET", "/environments/", 503, retry_after=1)

    started = time.monotonic()
    client.environments()

    assert time.monotonic() - started >= 0.9
    assert _calls(lifetime, "GET", "/environments/") == 2


def test_lasting_5xx_is_unavailable_naming_the_url(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.fail_next("GET", "/environments/", 502, times=10)

    with pytest.raises(LifeTimeUnavailable) as caught:
        client.environments()

    assert caught.value.status == 502
    assert f"{lifetime.base_url}/environments/" in caught.value.message
    assert "will be retried" in caught.value.message
    assert _calls(lifetime, "GET", "/environments/") == 4  # the first try and 3 retries


def test_500_on_a_post_that_creates_is_not_retried(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.fail_next("POST", "/deployments/", 500)

    with pytest.raises(LifeTimeUnavailable) as caught:
        _tag_and_plan(client)

    assert caught.value.status == 500
    assert _calls(lifetime, "POST", "/deployments/") == 1
    assert lifetime.deployment_statuses == {}


def test_503_on_a_command_is_retried(lifetime: FakeLifeTime, client: LifeTimeClient) -> None:
    key = _tag_and_plan(client)
    lifetime.fail_next("POST", f"/deployments/{key}/start/", 503)

    client.start(key)

    assert _calls(lifetime, "POST", f"/deployments/{key}/start/") == 2
    assert lifetime.deployment_statuses[key] == "running"


def test_a_refusal_after_a_retried_command_warns_it_may_have_gone_through(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    key = _tag_and_plan(client)
    client.start(key)
    lifetime.fail_next("POST", f"/deployments/{key}/start/", 502)  # as if a gateway lost it

    with pytest.raises(LifeTimeRefused) as caught:
        client.start(key)

    assert "its status is running" in caught.value.message
    assert "may have gone through" in caught.value.message
    assert _calls(lifetime, "POST", f"/deployments/{key}/start/") == 3


def test_a_read_timeout_is_unavailable(lifetime: FakeLifeTime) -> None:
    lifetime.delay("/environments/", 2.0)
    url = f"{lifetime.base_url}/environments/"

    slow = LifeTimeClient(lifetime.base_url, lifetime.token, timeout=0.2, retries=1)
    with slow, pytest.raises(LifeTimeUnavailable) as caught:
        slow.environments()

    assert f"did not answer {url} within 0.2s" in caught.value.message
    assert "will be retried" in caught.value.message
    assert _calls(lifetime, "GET", "/environments/") == 2  # a GET is read again once


def test_a_read_timeout_on_a_post_that_creates_is_not_retried(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    app = client.application_by_name(APP)
    source = client.environment_by_name("Pre-Production")
    running = client.application_in_environment(source.key, app.key)
    lifetime.delay(f"/environments/{source.key}/applications/{app.key}/versions/", 2.0)
    path = f"/environments/{source.key}/applications/{app.key}/versions/"

    slow = LifeTimeClient(lifetime.base_url, lifetime.token, timeout=0.2, retries=3)
    with slow, pytest.raises(LifeTimeUnavailable, match="within 0.2s"):
        slow.create_version(source.key, app.key, "1.7.1", "Fix", running.module_version_keys)

    assert _calls(lifetime, "POST", path) == 1


def test_connection_refused_is_unavailable_naming_the_url() -> None:
    base_url = f"http://127.0.0.1:{_free_port()}/lifetimeapi/rest/v2"

    client = LifeTimeClient(base_url, "token", retries=1, backoff=0.01)
    with client, pytest.raises(LifeTimeUnavailable) as caught:
        client.environments()

    assert f"Could not reach LifeTime at {base_url}/environments/" in caught.value.message
    assert "Connection refused" in caught.value.message
    assert "will be retried" in caught.value.message


def test_a_slow_new_version_is_waited_for_within_a_bound(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    source = client.environment_by_name("Pre-Production")
    app = client.application_by_name(APP)
    running = client.application_in_environment(source.key, app.key)
    lifetime.slow_new_versions(3)
    key = client.create_version(source.key, app.key, "1.7.1", "fix", running.module_version_keys)
    with pytest.raises(LifeTimeUnavailable, match="still processing the new version"):
        client.wait_until_usable(app.key, key, timeout=0.0, interval=0.01)
    client.wait_until_usable(app.key, key, timeout=2.0, interval=0.01)
    assert client._version_number(app.key, key) == "1.7.1"


def test_a_plan_is_deleted_only_while_saved(lifetime: FakeLifeTime, client: LifeTimeClient) -> None:
    key = _tag_and_plan(client)
    client.delete_deployment(key)
    assert key not in lifetime.deployment_statuses
    started = _tag_and_plan(client, "1.7.2")
    client.start(started)
    with pytest.raises(LifeTimeRefused, match="cannot be deleted"):
        client.delete_deployment(started)


def test_the_one_plan_rule_refuses_a_second_plan_to_the_same_target(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    lifetime.one_plan_per_target = True
    first = _tag_and_plan(client)
    with pytest.raises(LifeTimeRefused, match="already a deployment plan"):
        _tag_and_plan(client, "1.7.2")
    client.delete_deployment(first)
    assert _tag_and_plan(client, "1.7.3")


def test_the_stand_in_refuses_date_times_where_lifetime_wants_dates(
    lifetime: FakeLifeTime, client: LifeTimeClient
) -> None:
    with pytest.raises(LifeTimeRefused, match="use a date like 2014-12-31"):
        client._get("/deployments/", "list", {"MinDate": "2014-12-31T00:00:00Z"})
    with pytest.raises(LifeTimeRefused, match="IncludeModules"):
        app = client.application_by_name(APP)
        env = client.environment_by_name("Production")
        version_key = client.application_in_environment(env.key, app.key).version_key
        client._get(f"/applications/{app.key}/versions/{version_key}/", "read")


def test_every_applications_status_everywhere_comes_in_one_call(
    client: LifeTimeClient, lifetime: FakeLifeTime
) -> None:
    before = len(lifetime.calls)
    statuses = client.application_statuses()
    assert lifetime.calls[before:] == [("GET", "/applications/")]
    mine = [s for s in statuses if s.application_name == APP]
    assert len(mine) == 4
    labels = sorted(s.label for s in mine)
    assert labels == ["1.7.0", "1.7.0", "1.7.0", "1.7.0+"]
    assert all(len(s.module_version_keys) == 2 for s in mine)


def test_statuses_without_version_labels_read_each_version_once(
    client: LifeTimeClient, lifetime: FakeLifeTime
) -> None:
    lifetime.version_labels_in_status = False
    before = len(lifetime.calls)
    statuses = client.application_statuses()
    assert sorted(s.label for s in statuses if s.application_name == APP)[-1] == "1.7.0+"
    reads = [path for _, path in lifetime.calls[before:] if "/versions/" in path]
    assert len(reads) == 1  # eCommerce runs one tagged version everywhere: read once


def test_version_modules_and_module_names_say_which_module_changed(
    client: LifeTimeClient, lifetime: FakeLifeTime
) -> None:
    lifetime.publish_module(APP, "Quality Assurance", "Catalog")
    qa = client.environment_by_name("Quality Assurance")
    [status] = [
        s
        for s in client.application_statuses()
        if s.application_name == APP and s.environment_key == qa.key
    ]
    assert status.is_modified and status.version_key is not None
    tagged = client.version_modules(status.application_key, status.version_key)
    changed = [m for m, v in tagged.items() if v not in status.module_version_keys]
    assert [client.module_name(m) for m in changed] == ["Catalog"]
