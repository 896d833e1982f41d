"""A realistic catalog, seeded fast: bulk inserts into the tables the migrations created.

Every application has modules, owners and approvers, a version in every environment, module
revisions, used tags and a history of hotfixes (solved and cancelled ones, with their checklist,
audit events and living messages), and one unsolved (red) hotfix: one is all the rules allow.
The red ones are open, awaiting approval or propagating (most), as a busy team's would be.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from commands import applications as application_commands
from commands.context import ServiceContext, utc_now
from commands.refs import format_hotfix_ref
from commands.snapshots import pipeline_of
from storage.engine import is_sqlite
from storage.repository import Database

Row = dict[str, Any]
# Insert order: parents before children (foreign keys are enforced on both backends).
TABLES = (
    "application",
    "module",
    "member",
    "app_version",
    "module_revision",
    "used_tag",
    "hotfix",
    "hotfix_module",
    "hotfix_owner",
    "checklist_item",
    "hotfix_message",
    "event",
    "reminder",
)
SERIAL_TABLES = ("application", "module", "hotfix", "checklist_item", "event")
MODULES_PER_HOTFIX = 2


@dataclass(frozen=True)
class CatalogSize:
    applications: int
    modules: int = 40
    hotfixes_per_application: int = 4  # the last one red; before it, solved and cancelled ones


@dataclass(frozen=True)
class RedHotfix:
    id: int
    application: str
    state: str
    home_channel: str
    owner: str
    modules: tuple[str, ...]

    @property
    def ref(self) -> str:
        return format_hotfix_ref(self.id)


@dataclass
class SeededCatalog:
    size: CatalogSize
    applications: list[str]
    red: list[RedHotfix]
    rows: dict[str, int]
    seconds: float

    @property
    def hotfixes(self) -> int:
        return self.rows.get("hotfix", 0)

    def propagating(self) -> list[RedHotfix]:
        return [h for h in self.red if h.state == "propagating"]


@dataclass(frozen=True)
class _Environments:
    ids: dict[str, int]  # by name
    order: tuple[str, ...]  # propagation order: closest to Production first
    hotfix: str
    production: str


def red_state(index: int) -> str:
    """One application in ten has an open hotfix, one awaits approval, the rest propagate."""
    return {0: "open", 1: "awaiting_approval"}.get(index % 10, "propagating")


@dataclass
class _Builder:
    size: CatalogSize
    environments: _Environments
    now: datetime
    rows: dict[str, list[Row]] = field(default_factory=lambda: {name: [] for name in TABLES})
    red: list[RedHotfix] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    _next_item: int = 1
    _next_event: int = 1

    def application(self, index: int) -> None:
        name = f"app-{index:04d}"
        app_id = index + 1
        home = f"C0APP{index:05d}"
        owners = (f"U0O{index:05d}", f"U0Q{index:05d}")
        approvers = (f"U0A{index:05d}", f"U0B{index:05d}")
        self.names.append(name)
        self.rows["application"].append(
            {
                "id": app_id,
                "name": name,
                "name_key": name,
                "home_channel": home,
                "require_approval": True,
                "created_at": self.now - timedelta(days=400, minutes=index),
            }
        )
        module_ids = [index * self.size.modules + j + 1 for j in range(self.size.modules)]
        for j, module_id in enumerate(module_ids):
            module_name = f"Module{j:02d}"
            self.rows["module"].append(
                {
                    "id": module_id,
                    "application_id": app_id,
                    "name": module_name,
                    "name_key": module_name.casefold(),
                }
            )
            for environment_id in self.environments.ids.values():
                self.rows["module_revision"].append(
                    {
                        "module_id": module_id,
                        "environment_id": environment_id,
                        "revision": 1 + j % 3,
                    }
                )
        for role, users in (("owner", owners), ("approver", approvers)):
            self.rows["member"].extend(
                {"application_id": app_id, "user_id": user, "role": role} for user in users
            )
        self._history(index, app_id, name, home, owners[0], approvers[0], module_ids)

    def _history(
        self,
        index: int,
        app_id: int,
        name: str,
        home: str,
        owner: str,
        approver: str,
        module_ids: list[int],
    ) -> None:
        major, minor = 1 + index % 7, index % 10
        tags = [f"{major}.{minor}.0", f"{major}.{minor + 1}.0"]
        production = tags[0]
        deployed = 0
        count = self.size.hotfixes_per_application
        for k in range(count):
            hotfix_id = index * count + k + 1
            state = red_state(index) if k == count - 1 else ("cancelled" if k % 2 else "solved")
            next_tag = f"{major}.{minor}.{deployed + 1}"
            chosen = [
                module_ids[(MODULES_PER_HOTFIX * k + m) % len(module_ids)]
                for m in range(MODULES_PER_HOTFIX)
            ]
            opened = self.now - timedelta(days=(count - k) * 30, minutes=index)
            row = self._hotfix_row(hotfix_id, app_id, name, state, owner, approver, opened)
            row["base_version"] = production
            if state in ("solved", "propagating"):
                row["deployed_version"] = row["requested_version"] = next_tag
                tags.append(next_tag)
                production = next_tag
                deployed += 1
            elif state == "awaiting_approval":
                row["requested_version"] = next_tag
            self.rows["hotfix"].append(row)
            self._hotfix_children(row, chosen, owner, home)
            if state not in ("solved", "cancelled"):
                module_names = tuple(f"Module{(mid - 1) % self.size.modules:02d}" for mid in chosen)
                self.red.append(RedHotfix(hotfix_id, name, state, home, owner, module_names))
                # Every red hotfix has its reminder (the product keeps one while it is red);
                # none falls due during the run (the sweep is measured on its own database).
                self.rows["reminder"].append(
                    {"hotfix_id": hotfix_id, "next_due_at": self.now + timedelta(days=7)}
                )
        self._versions(app_id, tags, production, red_state(index))

    def _hotfix_row(
        self,
        hotfix_id: int,
        app_id: int,
        name: str,
        state: str,
        owner: str,
        approver: str,
        opened: datetime,
    ) -> Row:
        requested = state in ("solved", "propagating", "awaiting_approval")
        deployed = state in ("solved", "propagating")
        closed = state in ("solved", "cancelled")
        revision = {"open": 1, "awaiting_approval": 2, "propagating": 3, "cancelled": 2}
        # opened, deploy_requested, approved, one merge per checklist item, solved
        solved_revision = 4 + MODULES_PER_HOTFIX * len(self.environments.order)
        return {
            "id": hotfix_id,
            "application_id": app_id,
            "summary": f"{name}: payment fails for saved cards after the {hotfix_id % 9} release",
            "severity": "critical" if hotfix_id % 5 == 0 else "high",
            "state": state,
            "opened_by": owner,
            "opened_at": opened,
            "base_version": "",
            "forced": False,
            "hotfix_environment_had_changes": False,
            "requested_version": None,
            "requested_by": owner if requested else None,
            "requested_at": opened + timedelta(hours=1) if requested else None,
            "deployed_version": None,
            "deployed_by": owner if deployed else None,
            "approved_by": approver if deployed else None,
            "deployed_at": opened + timedelta(hours=2) if deployed else None,
            "closed_by": owner if closed else None,
            "closed_at": opened + timedelta(days=3) if closed else None,
            "close_reason": "duplicate of an older report" if state == "cancelled" else None,
            "revision": revision.get(state, solved_revision),
        }

    def _hotfix_children(self, hotfix: Row, modules: list[int], owner: str, home: str) -> None:
        hotfix_id, state, opened = hotfix["id"], hotfix["state"], hotfix["opened_at"]
        self.rows["hotfix_module"].extend({"hotfix_id": hotfix_id, "module_id": m} for m in modules)
        self.rows["hotfix_owner"].append({"hotfix_id": hotfix_id, "user_id": owner})
        done = state == "solved"
        for environment in self.environments.order:
            for module_id in modules:
                self.rows["checklist_item"].append(
                    {
                        "id": self._next_item,
                        "hotfix_id": hotfix_id,
                        "environment_id": self.environments.ids[environment],
                        "module_id": module_id,
                        "status": "merged" if done else "pending",
                        "reason": None,
                        "done_by": owner if done else None,
                        "done_at": opened + timedelta(days=2) if done else None,
                    }
                )
                self._next_item += 1
        merges = ["merged"] * (len(modules) * len(self.environments.order))
        kinds = {
            "open": ["opened"],
            "awaiting_approval": ["opened", "deploy_requested"],
            "propagating": ["opened", "deploy_requested", "approved"],
            "cancelled": ["opened", "cancelled"],
        }.get(state, ["opened", "deploy_requested", "approved", *merges, "solved"])
        for step, kind in enumerate(kinds):
            self.rows["event"].append(
                {
                    "id": self._next_event,
                    "hotfix_id": hotfix_id,
                    "application_id": hotfix["application_id"],
                    "at": opened + timedelta(hours=step),
                    "actor": owner,
                    "kind": kind,
                    "details": json.dumps({"step": step, "summary": hotfix["summary"]}),
                }
            )
            self._next_event += 1
        if state in ("solved", "cancelled"):
            self.rows["hotfix_message"].append(
                {
                    "hotfix_id": hotfix_id,
                    "channel": home,
                    "ts": f"{1_700_000_000 + hotfix_id}.000100",
                    "shown_revision": hotfix["revision"],
                }
            )

    def _versions(self, app_id: int, tags: list[str], production: str, red: str) -> None:
        env = self.environments
        for name, environment_id in env.ids.items():
            if name in (env.production, env.hotfix):
                tag, changes = production, name == env.hotfix and red != "propagating"
            elif name == env.order[0]:
                tag, changes = production, False
            else:
                tag, changes = tags[1], True
            self.rows["app_version"].append(
                {
                    "application_id": app_id,
                    "environment_id": environment_id,
                    "tag": tag,
                    "has_changes": changes,
                }
            )
        self.rows["used_tag"].extend({"application_id": app_id, "tag": tag} for tag in tags)


def seed_catalog(database: Database, size: CatalogSize) -> SeededCatalog:
    """Seed `size` into an empty, upgraded database; returns what the benchmark needs."""
    started = time.perf_counter()
    ctx = ServiceContext(database)
    application_commands.ensure_pipeline(ctx)
    builder = _Builder(size, _environments(database), utc_now())
    for index in range(size.applications):
        builder.application(index)
    _insert(database.engine, builder.rows)
    return SeededCatalog(
        size=size,
        applications=builder.names,
        red=builder.red,
        rows={name: len(rows) for name, rows in builder.rows.items()},
        seconds=time.perf_counter() - started,
    )


def _environments(database: Database) -> _Environments:
    with database.read() as repository:
        rows = repository.environments()
    pipeline = pipeline_of(rows)
    return _Environments(
        ids={row.name: int(row.id or 0) for row in rows},
        order=tuple(e.name for e in pipeline.propagation_order()),
        hotfix=pipeline.hotfix_environment_name,
        production=pipeline.production.name,
    )


def _chunks(rows: list[Row], size: int = 5000) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _models() -> dict[str, type[SQLModel]]:
    found: dict[str, type[SQLModel]] = {}
    pending = list(SQLModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        name = getattr(model, "__tablename__", None)
        if isinstance(name, str):
            found[name] = model
    return found


def _defaults(model: type[SQLModel], given: Row) -> Row:
    """The model's defaults for the fields the seeder does not set (columns added later)."""
    defaults: Row = {}
    for name, info in model.model_fields.items():
        if name in given or info.is_required():
            continue
        defaults[name] = info.get_default(call_default_factory=True)
    return defaults


def _insert(engine: Engine, rows: dict[str, list[Row]]) -> None:
    tables = SQLModel.metadata.tables
    models = _models()
    with engine.begin() as connection:
        for name in TABLES:
            if not rows[name]:
                continue
            defaults = _defaults(models[name], rows[name][0])
            for chunk in _chunks(rows[name]):
                connection.execute(tables[name].insert(), [{**defaults, **row} for row in chunk])
        if not is_sqlite(engine):
            for name in SERIAL_TABLES:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
                    )
                )
    with engine.connect() as connection:
        # Planner statistics, as a database that has been in use has them.
        connection.execute(text("ANALYZE"))
        connection.commit()
