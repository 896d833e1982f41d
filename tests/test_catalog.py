from __future__ import annotations

from pathlib import Path

import pytest

from commands import applications, queries
from commands.actors import Actor
from commands.catalog_file import CatalogError, parse_catalog
from commands.context import ServiceContext
from commands.errors import PermissionDenied, Refused
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
    (
        "applications:\n  - name: Shop\n    modules: [A, 'B|C']\n    versions: {prod: 1.0.0}\n",
        "catalog:3: applications[0].modules[1]: '|' cannot be in a name",
    ),
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


def test_only_admins_load_and_red_applications_keep_their_versions(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied):
        applications.load_catalog(ctx, Actor("U0ANA"), EXAMPLE_CATALOG)
    from commands import hotfixes

    hotfixes.open_hotfix(ctx, Actor("U0ANA"), "eCommerce", ["Checkout"], "Payment fails")
    path = tmp_path / "bumped.yaml"
    path.write_text(EXAMPLE_CATALOG.read_text().replace("qa: 1.7.0", "qa: 1.7.9"))
    before = dump(ctx.db.engine)
    with pytest.raises(Refused, match="unsolved hotfix HF-1"):
        applications.load_catalog(ctx, ADMIN, path)
    assert dump(ctx.db.engine) == before


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
