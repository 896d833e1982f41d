from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.catalog_file import CatalogError, parse_catalog
from commands.context import ServiceContext
from commands.errors import AlreadyApplied, PermissionDenied, Refused
from storage.models import AppliedRequest, Event
from storage.repository import Database
from tests.conftest import ADMIN, EXAMPLE_CATALOG
from tests.support import MovableClock, dump


@pytest.fixture
def empty(database: Database, clock: MovableClock) -> ServiceContext:
    return ServiceContext(database, clock)


def test_example_catalog_has_the_seeds_application(empty: ServiceContext) -> None:
    report = applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG)
    assert report.pipeline_created
    assert report.created == ["eCommerce", "Back Office"]
    app, hotfix = queries.application_status(empty, "ECOMMERCE")
    assert hotfix is None
    assert {line.name: line.shown_version for line in app.pipeline} == {
        "Production": "1.7.0",
        "Pre-Production": "1.7.0",
        "Quality Assurance": "1.7.0",
        "Development": "1.8.0+",
    }
    assert app.owners == ("U0ANA", "U0RAJ")
    assert app.approvers == ("U0KIM", "U0LEE")
    assert app.home_channel == "C0ECOMMERCE"
    assert app.modules == ("Checkout", "Catalog", "Payments", "Customers")


def test_loading_twice_changes_nothing(empty: ServiceContext) -> None:
    applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG)
    before = dump(empty.db.engine)
    empty.clock.advance(hours=1)  # type: ignore[attr-defined]
    report = applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG)
    assert report.unchanged == ["eCommerce", "Back Office"]
    assert report.created == report.updated == []
    assert dump(empty.db.engine) == before


def test_a_changed_catalog_updates_in_place(empty: ServiceContext, tmp_path: Path) -> None:
    applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG)
    changed = EXAMPLE_CATALOG.read_text().replace("[U0ANA, U0RAJ]", "[U0ANA]")
    changed = changed.replace(
        "[Checkout, Catalog, Payments, Customers]",
        "[Checkout, Catalog, Payments, Customers, Search]",
    )
    path = tmp_path / "changed.yaml"
    path.write_text(changed)
    report = applications.load_catalog(empty, ADMIN, path)
    assert report.updated == ["eCommerce"]
    app, _ = queries.application_status(empty, "eCommerce")
    assert app.owners == ("U0ANA",)
    assert app.modules[-1] == "Search"


BAD_FILES = [
    ("applications: [\n", "catalog:2: not valid YAML"),
    ("", "catalog:1: the catalog is empty"),
    ("apps: []\n", "catalog:1: catalog.apps: unknown field"),
    (
        "applications:\n  - name: Shop\n    modules: [A]\n",
        "catalog:2: applications[0].versions: missing",
    ),
    (
        "applications:\n  - name: Shop\n    modules: [A]\n    versions:\n      prod: 1.7.x\n",
        "catalog:5: applications[0].versions.prod: '1.7.x' is not a version",
    ),
    (
        "applications:\n  - name: Shop\n    modules: [A]\n    owners: [ana]\n"
        "    versions: {prod: 1.0.0}\n",
        "catalog:4: applications[0].owners[0]: 'ana' is not a Slack user id",
    ),
    (
        "applications:\n  - name: Shop\n    modules: [A]\n    home_channel: general\n"
        "    versions: {prod: 1.0.0}\n",
        "catalog:4: applications[0].home_channel: 'general' is not a Slack channel id",
    ),
    (
        "applications:\n  - name: Shop\n    modules: [A]\n    versions: {prod: 1.0.0}\n"
        "  - name: shop\n    modules: [A]\n    versions: {prod: 1.0.0}\n",
        "catalog:5: applications[1].name: 'shop' is declared twice (first at line 2)",
    ),
    (
        "applications:\n  - name: Shop\n    modules: [A]\n    require_approval: maybe\n"
        "    versions: {prod: 1.0.0}\n",
        "catalog:4: applications[0].require_approval: expected true or false",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_files_name_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_catalog(text)
    assert raised.value.message.startswith(message), raised.value.message


def test_versions_must_cover_the_pipeline_and_nothing_is_written(empty: ServiceContext) -> None:
    text = (
        "applications:\n"
        "  - name: Good\n    modules: [A]\n"
        "    versions: {prod: 1.0.0, preprod: 1.0.0, qa: 1.0.0, dev: 1.0.0}\n"
        "  - name: Bad\n    modules: [A]\n"
        "    versions:\n      prod: 1.0.0\n      staging: 1.0.0\n"
    )
    before = dump(empty.db.engine)
    with pytest.raises(
        CatalogError,
        match=r"catalog:9: application 'Bad' versions.staging: "
        r"unknown environment 'staging'",
    ):
        applications.apply_catalog(empty, ADMIN, parse_catalog(text))
    assert dump(empty.db.engine) == before
    missing = text.replace("      staging: 1.0.0\n", "")
    with pytest.raises(CatalogError, match="catalog:7: .*missing: Development, Quality"):
        applications.apply_catalog(empty, ADMIN, parse_catalog(missing))
    assert dump(empty.db.engine) == before


ANA, RAJ, LEE = Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE")


def _versions(ctx: ServiceContext, name: str = "eCommerce") -> dict[str, str]:
    app, _ = queries.application_status(ctx, name)
    return {line.name: line.shown_version for line in app.pipeline}


def _solve_a_hotfix(ctx: ServiceContext) -> None:
    """The seeds' flow: Production ends at 1.7.1, QA and Dev carry the merged fix."""
    hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    hotfixes.request_deploy(ctx, ANA, "HF-1")
    hotfixes.approve_deploy(ctx, LEE, "HF-1")
    hotfixes.mark_merged(ctx, RAJ, "HF-1", "qa", "Checkout")
    hotfixes.mark_merged(ctx, RAJ, "HF-1", "dev", "Checkout")
    hotfixes.solve(ctx, RAJ, "HF-1")


def _catalog(tmp_path: Path, text: str, name: str = "catalog.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_only_admins_load_a_catalog(ctx: ServiceContext) -> None:
    with pytest.raises(PermissionDenied):
        applications.load_catalog(ctx, ANA, EXAMPLE_CATALOG)


def test_a_reload_after_a_solve_keeps_the_recorded_versions(ctx: ServiceContext) -> None:
    _solve_a_hotfix(ctx)
    recorded = _versions(ctx)
    assert recorded["Production"] == "1.7.1"
    before = dump(ctx.db.engine)
    report = applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG)
    assert report.unchanged == ["eCommerce", "Back Office"]
    assert report.updated == [] and report.changes == []
    assert "eCommerce Production: kept 1.7.1 (the file says 1.7.0)" in report.kept
    assert _versions(ctx) == recorded
    assert dump(ctx.db.engine) == before


def test_set_versions_moves_forward_only(ctx: ServiceContext, tmp_path: Path) -> None:
    _solve_a_hotfix(ctx)
    back = applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG, set_versions=False)
    assert back.kept
    before = dump(ctx.db.engine)
    # QA carries the merged fix (1.7.0+); the file's 1.7.0 would drop it.
    with pytest.raises(
        Refused, match=r"eCommerce Quality Assurance: 1.7.0 is older than the recorded 1.7.0\+"
    ):
        applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG, set_versions=True)
    assert dump(ctx.db.engine) == before
    only_production_back = EXAMPLE_CATALOG.read_text().replace("qa: 1.7.0", "qa: 1.7.1")
    only_production_back = only_production_back.replace("preprod: 1.7.0", "preprod: 1.7.1")
    with pytest.raises(Refused, match=r"eCommerce Production: 1.7.0 is older than the recorded"):
        applications.load_catalog(
            ctx, ADMIN, _catalog(tmp_path, only_production_back), set_versions=True
        )
    assert dump(ctx.db.engine) == before
    forward = EXAMPLE_CATALOG.read_text().replace("1.7.0", "1.7.2").replace("1.8.0+", "1.9.0")
    report = applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, forward), set_versions=True)
    assert report.updated == ["eCommerce"]
    assert "eCommerce Production: version 1.7.1 → 1.7.2" in report.changes
    dropped = forward.replace("dev: 1.9.0", "dev: 1.9.0+")
    applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, dropped), set_versions=True)
    with pytest.raises(Refused, match=r"Development: 1.9.0 is older than the recorded 1.9.0\+"):
        applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, forward), set_versions=True)
    assert _versions(ctx) == {
        "Production": "1.7.2",
        "Pre-Production": "1.7.2",
        "Quality Assurance": "1.7.2",
        "Development": "1.9.0+",
    }


def test_membership_changes_while_a_hotfix_is_open(ctx: ServiceContext, tmp_path: Path) -> None:
    hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    unchanged = applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG)
    assert unchanged.unchanged == ["eCommerce", "Back Office"]
    assert "eCommerce Pre-Production: kept 1.7.0+ (the file says 1.7.0)" in unchanged.kept
    text = (
        EXAMPLE_CATALOG.read_text()
        .replace("owners: [U0ANA, U0RAJ]", "owners: [U0ANA, U0RAJ, U0NEW]")
        .replace("approvers: [U0LEE, U0KIM]", "approvers: [U0LEE]")
        .replace("[Checkout, Catalog, Payments, Customers]", "[Checkout, Payments, Search]")
        .replace("propagating: 2h", "propagating: 1h")
        .replace("qa: 1.7.0", "qa: 1.7.9")
    )
    report = applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, text))
    assert report.updated == ["eCommerce"]
    assert set(report.changes) == {
        "eCommerce: remind_propagating_seconds 7200 → 3600",
        "eCommerce: module Catalog removed",
        "eCommerce: module Customers removed",
        "eCommerce: module Search added",
        "eCommerce: owners U0ANA, U0RAJ → U0ANA, U0NEW, U0RAJ",
        "eCommerce: approvers U0KIM, U0LEE → U0LEE",
    }
    assert "eCommerce Quality Assurance: kept 1.7.0 (the file says 1.7.9)" in report.kept
    app, hotfix = queries.application_status(ctx, "eCommerce")
    assert app.modules == ("Checkout", "Payments", "Search")
    assert app.approvers == ("U0LEE",)
    assert hotfix is not None and hotfix.ref == "HF-1"
    # The hotfix goes on with the new members: the remaining approver approves.
    hotfixes.request_deploy(ctx, ANA, "HF-1")
    assert hotfixes.approve_deploy(ctx, LEE, "HF-1").hotfix.deployed_version == "1.7.1"
    # A removed module comes back with its old identity.
    applications.load_catalog(ctx, ADMIN, EXAMPLE_CATALOG)
    app, _ = queries.application_status(ctx, "eCommerce")
    assert app.modules == ("Checkout", "Catalog", "Payments", "Customers")


def test_removing_a_module_the_open_hotfix_uses_is_refused(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    hotfixes.open_hotfix(ctx, ANA, "eCommerce", ["Checkout"], "Payment fails")
    text = EXAMPLE_CATALOG.read_text().replace("[Checkout, Catalog,", "[Catalog,")
    before = dump(ctx.db.engine)
    with pytest.raises(Refused, match="module Checkout cannot be removed .* hotfix HF-1 uses it"):
        applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, text))
    assert dump(ctx.db.engine) == before
    hotfixes.cancel(ctx, ANA, "HF-1", "not needed")
    report = applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, text))
    assert "eCommerce: module Checkout removed" in report.changes
    _, events = queries.history(ctx, "HF-1")
    assert events, "the cancelled hotfix's history still reads its module"


def test_dry_run_says_what_it_would_do_and_writes_nothing(
    empty: ServiceContext, tmp_path: Path
) -> None:
    before = dump(empty.db.engine)
    report = applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG, dry_run=True)
    assert report.dry_run and report.pipeline_created
    assert report.created == ["eCommerce", "Back Office"]
    assert dump(empty.db.engine) == before
    applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG)
    loaded = dump(empty.db.engine)
    text = EXAMPLE_CATALOG.read_text().replace("owners: [U0RAJ]", "owners: [U0RAJ, U0ANA]")
    changed = applications.load_catalog(empty, ADMIN, _catalog(tmp_path, text), dry_run=True)
    assert changed.changes == ["Back Office: owners U0RAJ → U0ANA, U0RAJ"]
    assert dump(empty.db.engine) == loaded


def test_export_loads_back_unchanged(ctx: ServiceContext, tmp_path: Path) -> None:
    _solve_a_hotfix(ctx)
    text = EXAMPLE_CATALOG.read_text().replace("[Checkout, Catalog,", "[Checkout,")
    applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, text))
    exported = applications.export_catalog(ctx)
    assert "prod: 1.7.1" in exported and "Catalog" not in exported.split("Back Office")[0]
    before = dump(ctx.db.engine)
    report = applications.load_catalog(ctx, ADMIN, _catalog(tmp_path, exported, "exported.yaml"))
    assert report.unchanged == ["eCommerce", "Back Office"]
    assert report.kept == [] and report.changes == []
    assert dump(ctx.db.engine) == before
    assert applications.export_catalog(ctx) == exported


def test_export_of_a_deployer_and_reminders_round_trips(
    empty: ServiceContext, tmp_path: Path
) -> None:
    text = (
        "applications:\n"
        "  - name: Shop\n    modules: [A, B]\n    require_approval: false\n"
        "    reminders: {open: 1h30m, awaiting_approval: 10m, escalation_usergroup: S0OPS}\n"
        "    deployer: {kind: webhook, url: 'https://ci.example/deploy'}\n"
        "    versions: {prod: 1.0.0, preprod: 1.0.0, qa: 1.1.0, dev: 1.1.0+}\n"
    )
    applications.load_catalog(empty, ADMIN, _catalog(tmp_path, text))
    exported = applications.export_catalog(empty)
    before = dump(empty.db.engine)
    report = applications.load_catalog(empty, ADMIN, _catalog(tmp_path, exported, "e.yaml"))
    assert report.unchanged == ["Shop"] and report.kept == []
    assert dump(empty.db.engine) == before


def test_a_different_pipeline_is_refused(ctx: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(
        EXAMPLE_CATALOG.read_text().replace("hotfix_environment: preprod", "hotfix_environment: qa")
    )
    with pytest.raises(Refused, match="pipeline differs"):
        applications.load_catalog(ctx, ADMIN, path)


def test_unreadable_file(empty: ServiceContext, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the catalog"):
        applications.load_catalog(empty, ADMIN, tmp_path / "missing.yaml")


def test_a_load_is_an_operation_of_the_runner_with_its_audit_and_request_key(
    empty: ServiceContext, tmp_path: Path
) -> None:
    applications.load_catalog(empty, ADMIN, EXAMPLE_CATALOG, request_key="cli:load-1")
    with Session(empty.db.engine) as session:
        events = session.exec(select(Event).order_by(col(Event.id))).all()
        remembered = session.get(AppliedRequest, "cli:load-1")
    assert [(event.actor, event.kind) for event in events] == [
        (ADMIN.user_id, "application_created"),
        (ADMIN.user_id, "application_created"),
    ]
    assert all(event.application_id is not None for event in events)
    assert json.loads(events[0].details)["changes"] == ["eCommerce: created"]
    assert remembered is not None
    # The same request again (a retried call) applies nothing, even with another file.
    before = dump(empty.db.engine)
    text = EXAMPLE_CATALOG.read_text().replace("owners: [U0RAJ]", "owners: [U0RAJ, U0ANA]")
    with pytest.raises(AlreadyApplied):
        applications.load_catalog(empty, ADMIN, _catalog(tmp_path, text), request_key="cli:load-1")
    assert dump(empty.db.engine) == before
    # A dry run remembers no request key either: the real load with that key still applies.
    applications.load_catalog(
        empty, ADMIN, _catalog(tmp_path, text), request_key="cli:load-2", dry_run=True
    )
    assert dump(empty.db.engine) == before
    report = applications.load_catalog(
        empty, ADMIN, _catalog(tmp_path, text), request_key="cli:load-2"
    )
    assert report.updated == ["Back Office"]
    with Session(empty.db.engine) as session:
        last = session.exec(select(Event).order_by(col(Event.id).desc())).first()
    assert last is not None and last.kind == "application_updated"
    assert json.loads(last.details) == {
        "source": str(tmp_path / "catalog.yaml"),
        "changes": ["Back Office: owners U0RAJ → U0ANA, U0RAJ"],
    }
