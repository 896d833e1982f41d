"""Every query the service layer needs, behind named methods: the service never writes SQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    true,
    union_all,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError, NoResultFound, OperationalError
from sqlmodel import Session, SQLModel, col, delete, select

from storage.engine import read_session, write_session
from storage.models import (
    ACTIVE_HOTFIX_STATES,
    Application,
    AppliedRequest,
    AppVersion,
    ChecklistItem,
    Deployment,
    EnvironmentRow,
    Event,
    Hotfix,
    HotfixModule,
    HotfixOwner,
    LifeTimeObservation,
    LifeTimeSuggestion,
    Member,
    Message,
    Module,
    ModuleRevision,
    Outbox,
    Reminder,
    UsedTag,
    UserTimezone,
)

Model = TypeVar("Model", bound=SQLModel)
Claimable = TypeVar("Claimable", Reminder, Deployment)


# What reads for snapshots hand out (see "reads for snapshots" below): an ORM instance when
# the transaction holds one (an operation may have changed it), else a plain row of the same
# columns. Callers read attributes only.
AnyApplication = Application | Row[Any]
AnyHotfix = Hotfix | Row[Any]
AnyVersion = AppVersion | Row[Any]
AnyChecklistItem = ChecklistItem | Row[Any]
AnyDeployment = Deployment | Row[Any]


class MemberRow(NamedTuple):
    """A member of an application as reads need it: a plain tuple, not an ORM instance (a list
    of 40 hotfixes has 160 of them, and building ORM objects cost most of its CPU)."""

    application_id: int
    user_id: str
    role: str


@dataclass
class HotfixDetails:
    owners: dict[int, list[str]] = field(default_factory=dict)
    modules: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # (id, name)
    messages: dict[int, list[tuple[str, str, int]]] = field(
        default_factory=dict
    )  # channel, ts, rev


# Statements of the hot path (a click), built once with bound parameters: building one and
# computing its cache key cost more CPU than running it on SQLite. Keyed by name (and dialect).
_STATEMENTS: dict[str, Any] = {}


def _built(key: str, build: Callable[[], Any]) -> Any:
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


class StorageConflict(Exception):
    """A concurrent writer got there first (unique key taken, lock or serialization failure)."""


class Repository:
    def __init__(self, session: Session, cache: dict[str, Any] | None = None) -> None:
        self.session = session
        self.cache = cache if cache is not None else {}
        # Members read in this transaction: an operation checks permission with them and its
        # snapshot shows them, so one read serves both. replace_members forgets its application.
        self._members: dict[int, list[MemberRow]] = {}
        # Rows an operation already loaded with its lock (`lock_hotfix`) or read once, kept for
        # this transaction so its snapshot does not read them again. Rows are the session's own
        # objects, so changes made to them show; `add` forgets what a new row makes incomplete.
        # application id -> (environment id -> version row, environment id -> LifeTime's label)
        self._versions: dict[int, tuple[dict[int, AppVersion], dict[int, str]]]
        self._versions = {}
        self._checklists: dict[int, list[ChecklistItem]] = {}
        self._deployments: dict[int, Deployment | None] = {}
        self._details: dict[int, HotfixDetails] = {}
        # The session's identity map holds rows weakly: keep what `lock_hotfix` loaded alive,
        # so `application` and `reminder` find it there.
        self._held: list[SQLModel] = []

    # writing -----------------------------------------------------------------------------
    def add(self, row: Model) -> Model:
        self._forget_cached(row)
        self.session.add(row)
        return row

    def add_all(self, rows: Iterable[SQLModel]) -> None:
        listed = list(rows)
        for row in listed:
            self._forget_cached(row)
        self.session.add_all(listed)

    def _forget_cached(self, row: SQLModel) -> None:
        """A new row of a kind read earlier in this transaction: the next read asks again."""
        if sa_inspect(row).persistent:
            return  # a row read before and changed: the kept one is that same object
        if isinstance(row, (AppVersion, LifeTimeObservation)):
            self._versions.pop(row.application_id, None)
        elif isinstance(row, ChecklistItem):
            self._checklists.pop(row.hotfix_id, None)
        elif isinstance(row, Deployment):
            self._deployments.pop(row.hotfix_id, None)
        elif isinstance(row, (HotfixOwner, HotfixModule, Message)):
            self._details.pop(row.hotfix_id, None)
        elif isinstance(row, Member):
            self._members.pop(row.application_id, None)

    def flush(self) -> None:
        self.session.flush()

    def record_event(
        self,
        *,
        at: datetime,
        actor: str,
        kind: str,
        details: dict[str, Any],
        hotfix_id: int | None = None,
        application_id: int | None = None,
    ) -> Event:
        row = Event(
            hotfix_id=hotfix_id,
            application_id=application_id,
            at=at,
            actor=actor,
            kind=kind,
            details=json.dumps(details, sort_keys=True),
        )
        self.session.add(row)
        return row

    def request_seen(self, key: str) -> bool:
        return self.session.get(AppliedRequest, key) is not None

    def remember_request(self, key: str, at: datetime) -> None:
        self.session.add(AppliedRequest(key=key, at=at))

    def remember_request_once(self, key: str, at: datetime) -> bool:
        """Record a request key; False when it was already there (a retry, a double click).

        One INSERT ... ON CONFLICT DO NOTHING instead of a read and a write. Under the caller's
        lock a concurrent insert of the same key cannot interleave; without it PostgreSQL would
        wait for the other transaction and then skip."""
        table: Any = AppliedRequest.__table__  # type: ignore[attr-defined]
        dialect = self._dialect()
        statement = _built(
            f"remember_request:{dialect}",
            lambda: (
                _insert(table, dialect)
                .values(key=bindparam("key"), at=bindparam("at"))
                .on_conflict_do_nothing()
                .returning(table.c.key)
            ),
        )
        # RETURNING says whether the row went in (the ORM's rowcount does not, on psycopg).
        return self.session.execute(statement, {"key": key, "at": at}).first() is not None

    def _dialect(self) -> str:
        return str(self.session.get_bind().dialect.name)

    def _insert(self, model: type[SQLModel]) -> Any:
        return _insert(model.__table__, self._dialect())  # type: ignore[attr-defined]

    def forget_requests_before(self, cutoff: datetime, prefixes: Iterable[str]) -> int:
        kinds = [col(AppliedRequest.key).startswith(prefix) for prefix in prefixes]
        result = self.session.exec(
            delete(AppliedRequest).where(col(AppliedRequest.at) < cutoff, or_(*kinds))
        )
        return int(result.rowcount or 0)

    # environments --------------------------------------------------------------------------
    def environments(self) -> list[EnvironmentRow]:
        """The pipeline. It never changes once created, so a process reads it once."""
        cached = self.cache.get("environments")
        if cached:
            return list(cached)
        query = select(EnvironmentRow).order_by(col(EnvironmentRow.position))
        rows = list(self.session.exec(query))
        if rows:
            for row in rows:
                self.session.expunge(row)
            self.cache["environments"] = tuple(rows)
        return rows

    # applications --------------------------------------------------------------------------
    def application_by_name(self, name: str, *, for_update: bool = False) -> Application | None:
        # Built once per process (see `_built`): a status read starts here.
        query = _built(f"application_by_name:{for_update}", lambda: _by_name_statement(for_update))
        return self.session.execute(query, {"key": name.strip().casefold()}).scalar()

    def application(self, application_id: int, *, for_update: bool = False) -> Application:
        if not for_update:
            # Often loaded already with the hotfix's lock (`lock_hotfix`): no second read.
            known = self.session.get(Application, application_id)
            if known is None:
                raise NoResultFound(f"no application {application_id}")
            return known
        query = select(Application).where(Application.id == application_id)
        query = query.with_for_update()
        return self.session.exec(query).one()

    def applications(self) -> list[Application]:
        return list(self.session.exec(select(Application).order_by(col(Application.name_key))))

    def applications_by_ids(self, ids: Iterable[int]) -> dict[int, Application]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = self.session.exec(select(Application).where(col(Application.id).in_(wanted)))
        return {row.id: row for row in rows if row.id is not None}

    def application_names(self) -> list[str]:
        return list(self.session.exec(select(Application.name).order_by(col(Application.name_key))))

    def modules(self, application_id: int, *, with_retired: bool = False) -> list[Module]:
        query = select(Module).where(Module.application_id == application_id)
        if not with_retired:
            query = query.where(col(Module.retired).is_(False))
        return list(self.session.exec(query.order_by(col(Module.id))))

    def modules_of_applications(self, ids: Iterable[int]) -> dict[int, list[Module]]:
        result: dict[int, list[Module]] = {}
        wanted = set(ids)
        if not wanted:
            return result
        query = (
            select(Module)
            .where(col(Module.application_id).in_(wanted), col(Module.retired).is_(False))
            .order_by(col(Module.id))
        )
        for row in self.session.exec(query):
            result.setdefault(row.application_id, []).append(row)
        return result

    def module_names_of(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """Names of the applications' modules in use (not retired), by application id."""
        result: dict[int, list[str]] = {}
        wanted = sorted(set(ids))
        if not wanted:
            return result
        query = _built("module_names_of", _module_names_statement)
        for application_id, name in self._rows(query, {"wanted": wanted}):
            result.setdefault(application_id, []).append(name)
        return result

    def members(self, application_id: int) -> list[MemberRow]:
        if application_id not in self._members:
            self._read_members({application_id})
        return list(self._members[application_id])

    def members_of_applications(self, ids: Iterable[int]) -> dict[int, list[MemberRow]]:
        wanted = set(ids)
        unread = wanted - self._members.keys()
        if unread:
            self._read_members(unread)
        return {i: list(self._members[i]) for i in wanted if self._members[i]}

    def _read_members(self, application_ids: set[int]) -> None:
        query = _built("members_of", _members_statement)
        for application_id in application_ids:
            self._members[application_id] = []
        for application_id, user_id, role in self._rows(query, {"wanted": sorted(application_ids)}):
            self._members[application_id].append(MemberRow(application_id, user_id, role))

    def replace_members(self, application_id: int, role: str, user_ids: Sequence[str]) -> None:
        self._members.pop(application_id, None)
        self.session.exec(
            delete(Member).where(
                col(Member.application_id) == application_id, col(Member.role) == role
            )
        )
        self.session.add_all(
            Member(application_id=application_id, user_id=user, role=role) for user in user_ids
        )

    def versions(self, application_id: int) -> dict[int, AppVersion]:
        query = select(AppVersion).where(AppVersion.application_id == application_id)
        return {row.environment_id: row for row in self.session.exec(query)}

    def versions_of_applications(self, ids: Iterable[int]) -> dict[int, dict[int, AppVersion]]:
        result: dict[int, dict[int, AppVersion]] = {}
        wanted = set(ids)
        if not wanted:
            return result
        query = select(AppVersion).where(col(AppVersion.application_id).in_(wanted))
        for row in self.session.exec(query):
            result.setdefault(row.application_id, {})[row.environment_id] = row
        return result

    def versions_with_lifetime_of(
        self, ids: Iterable[int]
    ) -> tuple[dict[int, dict[int, AppVersion]], dict[int, dict[int, str]]]:
        """The recorded versions, and beside them what the LifeTime watch last saw (application
        id -> environment id -> label), in one query (none when `lock_hotfix` loaded them)."""
        versions: dict[int, dict[int, AppVersion]] = {}
        labels: dict[int, dict[int, str]] = {}
        wanted = set(ids)
        unread = wanted - self._versions.keys()
        if unread:
            seen = and_(
                col(LifeTimeObservation.application_id) == col(AppVersion.application_id),
                col(LifeTimeObservation.environment_id) == col(AppVersion.environment_id),
            )
            query = (
                select(AppVersion, col(LifeTimeObservation.label))
                .outerjoin(LifeTimeObservation, seen)
                .where(col(AppVersion.application_id).in_(unread))
            )
            for app_id in unread:
                self._versions[app_id] = ({}, {})
            for row, label in self.session.exec(query):
                self._remember_version(row, label)
        for app_id in wanted:
            rows, observations = self._versions[app_id]
            if rows:
                versions[app_id] = dict(rows)
            if observations:
                labels[app_id] = dict(observations)
        return versions, labels

    # reads for snapshots: plain rows ---------------------------------------------------------
    # Snapshots only read these rows, so they come as SQLAlchemy `Row`s of the columns views
    # need rather than ORM instances: building an instance (identity map, instrumentation,
    # SQLModel's __init__) cost several times more CPU than reading its row. Rows an operation
    # already holds (loaded with its lock, maybe changed since) are used as they are.

    def _rows(self, statement: Any, parameters: dict[str, Any]) -> Sequence[Any]:
        """Run a Core statement (no ORM loading: a plain `Row` per result row) after flushing
        what this transaction changed, as the ORM's autoflush would before its own queries.
        Fetched at once: row by row costs a driver call per row."""
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()
        return self.session.execute(statement, parameters).all()

    def version_rows_of(
        self, ids: Iterable[int]
    ) -> tuple[dict[int, dict[int, AnyVersion]], dict[int, dict[int, str]]]:
        """As `versions_with_lifetime_of` (tag and has_changes of each environment, and LifeTime's
        labels), as rows; applications read before in this transaction come from what was
        read."""
        wanted = set(ids)
        versions: dict[int, dict[int, AnyVersion]] = {}
        labels: dict[int, dict[int, str]] = {}
        for app_id in wanted & self._versions.keys():
            rows, observations = self._versions[app_id]
            if rows:
                versions[app_id] = dict(rows)
            if observations:
                labels[app_id] = dict(observations)
        unread = sorted(wanted - self._versions.keys())
        if unread:
            query = _built("version_rows", _version_rows_statement)
            for row in self._rows(query, {"wanted": unread}):
                versions.setdefault(row.application_id, {})[row.environment_id] = row
                if row.label is not None:
                    labels.setdefault(row.application_id, {})[row.environment_id] = row.label
        return versions, labels

    def application_rows(self, ids: Iterable[int]) -> dict[int, Row[Any]]:
        """Name, home channel, approval rule and deployer of applications, by id."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        query = _built("application_rows", _application_rows_statement)
        return {row.id: row for row in self._rows(query, {"wanted": wanted})}

    def hotfix_rows(self, ids: Iterable[int]) -> list[Row[Any]]:
        """Every column of hotfixes, by id (as `hotfixes_by_ids`), for reads that change none."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        query = _built("hotfix_rows", _hotfix_rows_statement)
        return list(self._rows(query, {"wanted": wanted}))

    def checklist_rows(self, hotfix_ids: Iterable[int]) -> dict[int, list[AnyChecklistItem]]:
        """As `checklists`, as rows; checklists held by this transaction come as they are."""
        wanted = set(hotfix_ids)
        result: dict[int, list[AnyChecklistItem]] = {
            i: list(self._checklists[i]) for i in wanted & self._checklists.keys()
        }
        unread = sorted(wanted - self._checklists.keys())
        if unread:
            query = _built("checklist_rows", _checklist_rows_statement)
            for row in self._rows(query, {"wanted": unread}):
                result.setdefault(row.hotfix_id, []).append(row)
        return {i: items for i, items in result.items() if items}

    def deployment_rows(self, hotfix_ids: Iterable[int]) -> dict[int, AnyDeployment]:
        """As `latest_deployments`, as rows; deployments held by this transaction as they are."""
        wanted = set(hotfix_ids)
        result: dict[int, AnyDeployment] = {}
        for hotfix_id in wanted & self._deployments.keys():
            held = self._deployments[hotfix_id]
            if held is not None:
                result[hotfix_id] = held
        unread = sorted(wanted - self._deployments.keys())
        if unread:
            query = _built("deployment_rows", _deployment_rows_statement)
            for row in self._rows(query, {"wanted": unread}):  # by id: the latest comes last
                result[row.hotfix_id] = row
        return result

    def _remember_version(self, row: AppVersion, label: str | None) -> None:
        rows, labels = self._versions.setdefault(row.application_id, ({}, {}))
        rows[row.environment_id] = row
        if label is not None:
            labels[row.environment_id] = label

    def bump_module_revision(self, module_id: int, environment_id: int) -> None:
        """One more revision of a module in an environment, in one upsert (no read first)."""
        table: Any = ModuleRevision.__table__  # type: ignore[attr-defined]
        dialect = self._dialect()
        statement = _built(
            f"bump_module_revision:{dialect}",
            lambda: (
                _insert(table, dialect)
                .values(module_id=bindparam("module"), environment_id=bindparam("env"), revision=1)
                .on_conflict_do_update(
                    index_elements=["module_id", "environment_id"],
                    set_={"revision": table.c.revision + 1},
                )
            ),
        )
        self.session.execute(statement, {"module": module_id, "env": environment_id})

    def module_revision(self, module_id: int, environment_id: int) -> ModuleRevision | None:
        return self.session.get(ModuleRevision, (module_id, environment_id))

    def module_revisions(self, module_ids: Iterable[int]) -> list[ModuleRevision]:
        wanted = set(module_ids)
        if not wanted:
            return []
        query = select(ModuleRevision).where(col(ModuleRevision.module_id).in_(wanted))
        return list(self.session.exec(query))

    def used_tags_of(self, application_ids: Iterable[int]) -> dict[int, list[str]]:
        wanted = set(application_ids)
        result: dict[int, list[str]] = {app_id: [] for app_id in wanted}
        if not wanted:
            return result
        query = sa_select(col(UsedTag.application_id), col(UsedTag.tag))
        for application_id, tag in self.session.execute(
            query.where(col(UsedTag.application_id).in_(wanted))
        ):
            result[application_id].append(tag)
        return result

    def used_tags(self, application_id: int) -> list[str]:
        query = select(UsedTag.tag).where(UsedTag.application_id == application_id)
        return list(self.session.exec(query))

    def use_tag(self, application_id: int, tag: str) -> None:
        if self.session.get(UsedTag, (application_id, tag)) is None:
            self.session.add(UsedTag(application_id=application_id, tag=tag))

    # hotfixes ------------------------------------------------------------------------------
    def hotfix(self, hotfix_id: int, *, for_update: bool = False) -> Hotfix | None:
        query = select(Hotfix).where(Hotfix.id == hotfix_id)
        if for_update:
            query = query.with_for_update()
        return self.session.exec(query).first()

    def lock_hotfix(self, hotfix_id: int) -> Hotfix | None:
        """Lock a hotfix's row (SELECT ... FOR UPDATE, with its application), then load in one
        more statement what any operation on it and its snapshot read next.

        The second statement comes after the lock on purpose: on PostgreSQL a statement that
        waits for a lock still reads the other tables as they were when it began, so rows a
        concurrent change wrote while holding the lock would be missed. What is loaded is kept
        for this transaction (`checklists`, `versions_with_lifetime_of`, `latest_deployments`,
        `hotfix_details`, `members`, `application`, `reminder` answer without a read)."""
        locked = _built("lock_hotfix", _lock_hotfix_statement)
        row = self.session.execute(locked, {"hotfix_id": hotfix_id}).first()
        if row is None:
            return None
        hotfix, app = row[0], row[1]
        self._held.append(app)
        self._load_around(hotfix)
        return hotfix  # type: ignore[no-any-return]

    def _load_around(self, hotfix: Hotfix) -> None:
        hotfix_id, application_id = int(hotfix.id or 0), hotfix.application_id
        query = _built("around_hotfix", _around_hotfix_statement)
        parameters = {"hotfix_id": hotfix_id}
        items: list[ChecklistItem] = []
        details = HotfixDetails()
        members: list[MemberRow] = []
        self._deployments[hotfix_id] = None
        self._versions.setdefault(application_id, ({}, {}))
        for (
            part,
            reminder,
            deployment,
            item,
            version,
            seen,
            owner,
            module_id,
            module_name,
            member_user,
            member_role,
            channel,
            ts,
            shown_revision,
        ) in self.session.execute(query, parameters):
            if part == 1 and reminder is not None:
                self._held.append(reminder)
            elif part == 2:
                self._deployments[hotfix_id] = deployment
            elif part == 3 and item is not None:
                items.append(item)
            elif part == 4 and version is not None:
                self._remember_version(version, seen)
            elif part == 5 and owner is not None:
                details.owners.setdefault(hotfix_id, []).append(owner)
            elif part == 6 and module_id is not None:
                details.modules.setdefault(hotfix_id, []).append((int(module_id), module_name))
            elif part == 7 and member_user is not None:
                members.append(MemberRow(application_id, member_user, member_role))
            elif part == 8 and ts:
                shown = (channel, ts, shown_revision)
                details.messages.setdefault(hotfix_id, []).append(shown)
        self._checklists[hotfix_id] = items
        self._details[hotfix_id] = details
        self._members.setdefault(application_id, members)

    def active_hotfix(self, application_id: int) -> Hotfix | None:
        query = select(Hotfix).where(
            Hotfix.application_id == application_id,
            col(Hotfix.state).in_(ACTIVE_HOTFIX_STATES),
        )
        return self.session.exec(query).first()

    def active_hotfixes(self, limit: int | None = None) -> list[Hotfix]:
        query = (
            select(Hotfix)
            .where(col(Hotfix.state).in_(ACTIVE_HOTFIX_STATES))
            .order_by(col(Hotfix.opened_at), col(Hotfix.id))
            .limit(limit)
        )
        return list(self.session.exec(query))

    def count_active_hotfixes(self) -> int:
        query = (
            select(func.count())
            .select_from(Hotfix)
            .where(col(Hotfix.state).in_(ACTIVE_HOTFIX_STATES))
        )
        return int(self.session.exec(query).one())

    def red_hotfixes_by_severity(self) -> list[tuple[str, int, datetime]]:
        """(severity, how many, when the oldest was opened) of the unsolved hotfixes."""
        query = (
            select(Hotfix.severity, func.count(), func.min(Hotfix.opened_at))
            .where(col(Hotfix.state).in_(ACTIVE_HOTFIX_STATES))
            .group_by(col(Hotfix.severity))
        )
        return [(str(s), int(n), oldest) for s, n, oldest in self.session.exec(query)]

    def active_hotfix_refs(self) -> list[tuple[int, int]]:
        """(hotfix id, application id) of every unsolved hotfix, the oldest first."""
        query = _built("active_hotfix_refs", _active_hotfix_refs_statement)
        return [(int(i), int(a)) for i, a in self._rows(query, {})]

    def application_keys(self) -> list[tuple[int, str]]:
        query = select(Application.id, Application.name).order_by(col(Application.name_key))
        return [(int(i or 0), str(n)) for i, n in self.session.exec(query)]

    def active_hotfixes_of(self, application_ids: Iterable[int]) -> dict[int, Hotfix]:
        wanted = set(application_ids)
        if not wanted:
            return {}
        query = select(Hotfix).where(
            col(Hotfix.application_id).in_(wanted), col(Hotfix.state).in_(ACTIVE_HOTFIX_STATES)
        )
        return {row.application_id: row for row in self.session.exec(query)}

    def current_hotfix(self, application_id: int) -> Hotfix | None:
        """The application's unsolved hotfix, or else its latest one."""
        query = _built("current_hotfix", _current_hotfix_statement)
        return self.session.execute(query, {"application_id": application_id}).scalar()

    def latest_hotfix(self, application_id: int) -> Hotfix | None:
        query = (
            select(Hotfix)
            .where(Hotfix.application_id == application_id)
            .order_by(col(Hotfix.id).desc())
        )
        return self.session.exec(query).first()

    def count_hotfixes(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(Hotfix)).one())

    def hotfix_modules(self, hotfix_ids: Iterable[int]) -> dict[int, list[Module]]:
        result: dict[int, list[Module]] = {}
        wanted = set(hotfix_ids)
        if not wanted:
            return result
        query = (
            select(HotfixModule.hotfix_id, Module)
            .join(Module, col(Module.id) == col(HotfixModule.module_id))
            .where(col(HotfixModule.hotfix_id).in_(wanted))
            .order_by(col(Module.id))
        )
        for hotfix_id, module in self.session.exec(query):
            result.setdefault(hotfix_id, []).append(module)
        return result

    def hotfix_owners(self, hotfix_ids: Iterable[int]) -> dict[int, list[str]]:
        result: dict[int, list[str]] = {}
        wanted = set(hotfix_ids)
        if not wanted:
            return result
        query = (
            select(HotfixOwner)
            .where(col(HotfixOwner.hotfix_id).in_(wanted))
            .order_by(col(HotfixOwner.user_id))
        )
        for row in self.session.exec(query):
            result.setdefault(row.hotfix_id, []).append(row.user_id)
        return result

    def checklists(self, hotfix_ids: Iterable[int]) -> dict[int, list[ChecklistItem]]:
        wanted = set(hotfix_ids)
        unread = wanted - self._checklists.keys()
        if unread:
            query = (
                select(ChecklistItem)
                .where(col(ChecklistItem.hotfix_id).in_(unread))
                .order_by(col(ChecklistItem.id))
            )
            for hotfix_id in unread:
                self._checklists[hotfix_id] = []
            for row in self.session.exec(query):
                self._checklists[row.hotfix_id].append(row)
        return {i: list(self._checklists[i]) for i in wanted if self._checklists[i]}

    def hotfix_details(self, hotfix_ids: Iterable[int]) -> HotfixDetails:
        """Owners, modules and living messages of hotfixes, and the members of their
        applications, in one round trip (UNION ALL); read once per transaction.

        The members are kept for `members` and `members_of_applications`: the permission check
        and the snapshot of an operation both use them."""
        wanted = set(hotfix_ids)
        unread = sorted(wanted - self._details.keys())
        if unread:
            self._read_details(unread)
        details = HotfixDetails()
        for hotfix_id in wanted:
            known = self._details[hotfix_id]
            if hotfix_id in known.owners:
                details.owners[hotfix_id] = list(known.owners[hotfix_id])
            if hotfix_id in known.modules:
                details.modules[hotfix_id] = list(known.modules[hotfix_id])
            if hotfix_id in known.messages:
                details.messages[hotfix_id] = list(known.messages[hotfix_id])
        return details

    def _read_details(self, wanted: list[int]) -> None:
        query = _built("hotfix_details", _details_statement)
        read = {hotfix_id: HotfixDetails() for hotfix_id in wanted}
        found: dict[int, list[tuple[str, str]]] = {}
        for kind, hotfix_id, a, b, number in self.session.execute(query, {"wanted": wanted}):
            details = read[hotfix_id]
            if kind == "owner":
                details.owners.setdefault(hotfix_id, []).append(a)
            elif kind == "module":
                details.modules.setdefault(hotfix_id, []).append((number, a))
            elif kind == "message":
                details.messages.setdefault(hotfix_id, []).append((a, b, number))
            elif kind == "hotfix":
                found.setdefault(number, [])
            elif number not in self._members:  # members read before in this transaction stay
                found.setdefault(number, []).append((b, a))
        for details in read.values():
            for modules_of in details.modules.values():
                modules_of.sort()
        self._details.update(read)
        for application_id, keys in found.items():
            if application_id not in self._members:
                self._members[application_id] = [
                    MemberRow(application_id, user_id, role) for role, user_id in sorted(set(keys))
                ]

    def messages(self, hotfix_ids: Iterable[int]) -> dict[int, list[Message]]:
        result: dict[int, list[Message]] = {}
        wanted = set(hotfix_ids)
        if not wanted:
            return result
        query = select(Message).where(col(Message.hotfix_id).in_(wanted))
        for row in self.session.exec(query.order_by(col(Message.channel))):
            result.setdefault(row.hotfix_id, []).append(row)
        return result

    def message(self, hotfix_id: int, channel: str) -> Message | None:
        return self.session.get(Message, (hotfix_id, channel))

    # the outbox ----------------------------------------------------------------------------
    def living_messages(
        self, hotfix_ids: Iterable[int], *, skip_locked: bool = False
    ) -> list[Message]:
        """Living messages of hotfixes, locked for the caller (see `claim_outbox`)."""
        wanted = set(hotfix_ids)
        if not wanted:
            return []
        query = (
            select(Message)
            .where(col(Message.hotfix_id).in_(wanted))
            .order_by(col(Message.hotfix_id), col(Message.channel))
            .with_for_update(skip_locked=skip_locked)
        )
        return list(self.session.exec(query))

    def outbox_of(self, hotfix_id: int) -> tuple[list[Message], list[Outbox]]:
        """A hotfix's living messages (locked, as `living_messages`) and its undelivered lines.

        The lines are read only when the messages' statement says there are some (or when
        there is no message yet to say it): after a delivery that went well there are none.
        The caller holds the hotfix's row, as every writer of its outbox rows does, so the
        answer holds for its transaction."""
        query = _built("outbox_of", _outbox_of_statement)
        rows = self.session.execute(query, {"hotfix_id": hotfix_id}).all()
        messages = [row[0] for row in rows]
        if rows and not rows[0][1]:
            return messages, []
        return messages, self.undelivered([hotfix_id])

    def insert_outbox(self, rows: Sequence[Outbox]) -> None:
        """New outbox lines in one INSERT (the ORM sends one per row on SQLite); each row gets
        its id. The rows stay out of the session: they are written, not tracked."""
        if not rows:
            return
        table: Any = Outbox.__table__  # type: ignore[attr-defined]
        names = [c.name for c in table.columns if c.name != "id"]
        values = [{name: getattr(row, name) for name in names} for row in rows]
        # A list of parameters: SQLAlchemy sends them as one multi-row INSERT ... RETURNING
        # ("insertmanyvalues") on both backends, and the statement is compiled once.
        statement = _built(
            "insert_outbox",
            lambda: table.insert().returning(
                table.c.id, table.c.channel, table.c.kind, table.c.payload
            ),
        )
        ids: dict[tuple[str, str, str], list[int]] = {}
        for identifier, channel, kind, payload in self.session.execute(statement, values):
            ids.setdefault((channel, kind, payload), []).append(int(identifier))
        for key in ids.values():
            key.sort()
        for row in rows:
            # Rows alike in channel, kind and payload are interchangeable: any order is right.
            row.id = ids[(row.channel, row.kind, row.payload)].pop(0)

    def finish_messages(
        self, hotfix_id: int, claim: str, outcomes: Sequence[dict[str, Any]]
    ) -> None:
        """Record what a delivery did with its living messages and release them, in one
        UPDATE sent with one set of values per message.

        Each row changes only while this claim still holds it (WHERE claimed_by = claim,
        checked on the row as it is when written, so a lease that passed on is left alone);
        the shown revision only grows. `outcomes`: channel, ts (None: not shown), revision,
        unreachable (bool)."""
        if not outcomes:
            return
        statement = _built("finish_messages", _finish_messages_statement)
        common = {"of_hotfix": hotfix_id, "of_claim": claim}
        self.session.execute(statement, [{**common, **outcome} for outcome in outcomes])

    def more_to_deliver(self, hotfix_id: int, now: datetime) -> bool:
        """A living message behind, or a line waiting, that nobody holds and is due."""
        query = _built("more_to_deliver", _more_to_deliver_statement)
        return bool(self.session.execute(query, {"hotfix_id": hotfix_id, "now": now}).scalar())

    def release_lines(
        self, hotfix_id: int, claim: str, delivered: Iterable[int], now: datetime
    ) -> None:
        """Give back a claim's lines of a hotfix in one UPDATE; `delivered` are marked sent."""
        statement = _built("release_lines", _release_lines_statement)
        parameters = {"of_hotfix": hotfix_id, "of_claim": claim, "done": sorted(delivered)}
        self.session.execute(statement, {**parameters, "at": now})

    def undelivered(self, hotfix_ids: Iterable[int], *, skip_locked: bool = False) -> list[Outbox]:
        wanted = set(hotfix_ids)
        if not wanted:
            return []
        query = (
            select(Outbox)
            .where(col(Outbox.hotfix_id).in_(wanted), col(Outbox.delivered_at).is_(None))
            .order_by(col(Outbox.id))
            .with_for_update(skip_locked=skip_locked)
        )
        return list(self.session.exec(query))

    def lock_hotfixes(self, ids: Iterable[int]) -> list[int]:
        """Lock the hotfix rows no other transaction holds; their ids (SKIP LOCKED).

        Whoever writes a hotfix's outbox rows holds its row, so a claim sees all of them."""
        wanted = set(ids)
        if not wanted:
            return []
        query = (
            select(Hotfix.id)
            .where(col(Hotfix.id).in_(wanted))
            .order_by(col(Hotfix.id))
            .with_for_update(skip_locked=True)
        )
        return [int(i) for i in self.session.exec(query) if i is not None]

    def hotfixes_with_due_outbox(self, now: datetime, limit: int) -> list[int]:
        """Hotfixes whose living message lags or whose lines wait, due now and not held by a
        live claim. Rows another transaction holds are skipped (SKIP LOCKED), as reminders."""
        free_message = or_(col(Message.claimed_until).is_(None), col(Message.claimed_until) < now)
        due_message = or_(
            col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= now
        )
        messages = (
            select(Message.hotfix_id)
            .where(
                col(Message.wanted_revision) > col(Message.shown_revision),
                due_message,
                free_message,
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        free_line = or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now)
        lines = (
            select(Outbox.hotfix_id)
            .where(
                col(Outbox.hotfix_id).is_not(None),
                col(Outbox.delivered_at).is_(None),
                col(Outbox.next_attempt_at) <= now,
                free_line,
            )
            .order_by(col(Outbox.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        found = list(dict.fromkeys([*self.session.exec(messages), *self.session.exec(lines)]))
        return found[:limit]

    def due_unattached_lines(self, now: datetime, limit: int) -> list[Outbox]:
        """Outbox lines about no hotfix, due and not held by a live claim; rows another
        transaction holds are skipped (SKIP LOCKED), so two sweeps never take the same line."""
        free = or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now)
        query = (
            select(Outbox)
            .where(
                col(Outbox.hotfix_id).is_(None),
                col(Outbox.delivered_at).is_(None),
                col(Outbox.next_attempt_at) <= now,
                free,
            )
            .order_by(col(Outbox.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.exec(query))

    def outbox_lines(self, ids: Iterable[int]) -> list[Outbox]:
        wanted = set(ids)
        if not wanted:
            return []
        query = select(Outbox).where(col(Outbox.id).in_(wanted)).with_for_update()
        return list(self.session.exec(query))

    def renew_outbox_claims(self, worker: str, until: datetime) -> None:
        """Every claim of this process's deliveries (named `<worker>/<delivery>`)."""
        for model in (Message, Outbox):
            mine = col(model.claimed_by).startswith(f"{worker}/", autoescape=True)
            self.session.exec(update(model).where(mine).values(claimed_until=until))

    def release_outbox_claims(self, worker: str) -> None:
        for model in (Message, Outbox):
            self.session.exec(
                update(model)
                .where(col(model.claimed_by).startswith(f"{worker}/", autoescape=True))
                .values(claimed_by=None, claimed_until=None)
            )

    def forget_delivered(self, before: datetime) -> int:
        result = self.session.exec(
            delete(Outbox).where(
                col(Outbox.delivered_at).is_not(None), col(Outbox.delivered_at) < before
            )
        )
        return int(result.rowcount or 0)

    def outbox_backlog(self) -> tuple[int, int, datetime | None]:
        """(living messages behind their revision, undelivered lines, when the oldest line was
        written): what the outbox still owes Slack, for the gauges."""
        lagging = select(func.count()).where(
            col(Message.wanted_revision) > col(Message.shown_revision)
        )
        lines = select(func.count(), func.min(Outbox.created_at)).where(
            col(Outbox.delivered_at).is_(None)
        )
        count, oldest = self.session.exec(lines).one()
        return int(self.session.exec(lagging).one()), int(count), oldest

    def outbox_rows(self, hotfix_id: int | None = None) -> list[Outbox]:
        """Every outbox row (of a hotfix), delivered or not: for checks and reports."""
        query = select(Outbox).order_by(col(Outbox.id))
        if hotfix_id is not None:
            query = query.where(Outbox.hotfix_id == hotfix_id)
        return list(self.session.exec(query))

    # reminders ---------------------------------------------------------------------------
    def reminder(self, hotfix_id: int, *, for_update: bool = False) -> Reminder | None:
        if not for_update:
            # Loaded with the hotfix's lock (`lock_hotfix`) when it exists: no second read.
            return self.session.get(Reminder, hotfix_id)
        query = select(Reminder).where(Reminder.hotfix_id == hotfix_id)
        query = query.with_for_update()
        return self.session.exec(query).first()

    def delete_reminder(self, hotfix_id: int) -> None:
        self.session.exec(delete(Reminder).where(col(Reminder.hotfix_id) == hotfix_id))

    def claim_due_reminders(
        self, now: datetime, worker: str, lease_until: datetime, limit: int
    ) -> list[Reminder]:
        """Take up to `limit` due reminders for `worker` (see `_claim`)."""
        rows = self._claim(
            Reminder,
            Reminder.hotfix_id,
            [col(Reminder.enabled), col(Reminder.next_due_at) <= now],
            col(Reminder.next_due_at),
            now,
            worker,
            lease_until,
            limit,
        )
        return sorted(rows, key=lambda row: (row.next_due_at, row.hotfix_id))

    def _claim(
        self,
        model: type[Claimable],
        key: Any,
        due: list[Any],
        order: Any,
        now: datetime,
        worker: str,
        lease_until: datetime,
        limit: int,
    ) -> list[Claimable]:
        """Lease due rows to one worker; rows another worker holds are skipped.

        On PostgreSQL, FOR UPDATE SKIP LOCKED lets two replicas claim disjoint rows at once; on
        SQLite the write transaction (BEGIN IMMEDIATE) already serializes the claim. The lease
        (`claimed_until`) keeps a row from a second worker until the first is done or gone.
        """
        claimed_until = col(model.claimed_until)  # type: ignore[attr-defined]
        query = (
            select(key)
            .where(*due, or_(claimed_until.is_(None), claimed_until < now))
            .order_by(order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(self.session.exec(query))
        if not ids:
            return []
        self.session.exec(
            update(model)
            .where(col(key).in_(ids))
            .values(claimed_by=worker, claimed_until=lease_until)
        )
        return list(self.session.exec(select(model).where(col(key).in_(ids))))

    def hotfixes_by_ids(self, ids: Iterable[int]) -> list[Hotfix]:
        wanted = set(ids)
        if not wanted:
            return []
        query = select(Hotfix).where(col(Hotfix.id).in_(wanted)).order_by(col(Hotfix.id))
        return list(self.session.exec(query))

    def timezones(self, users: Iterable[str]) -> dict[str, UserTimezone]:
        wanted = set(users)
        if not wanted:
            return {}
        query = select(UserTimezone).where(col(UserTimezone.user_id).in_(wanted))
        return {row.user_id: row for row in self.session.exec(query)}

    # deployments ---------------------------------------------------------------------------
    def claim_due_deployments(
        self, now: datetime, worker: str, lease_until: datetime, limit: int, terminal: Iterable[str]
    ) -> list[Deployment]:
        return self._claim(
            Deployment,
            Deployment.id,
            [col(Deployment.status).not_in(list(terminal)), col(Deployment.next_poll_at) <= now],
            col(Deployment.next_poll_at),
            now,
            worker,
            lease_until,
            limit,
        )

    def deployment(self, deployment_id: int, *, for_update: bool = False) -> Deployment | None:
        query = select(Deployment).where(Deployment.id == deployment_id)
        if for_update:
            query = query.with_for_update()
        return self.session.exec(query).first()

    def latest_deployments(self, hotfix_ids: Iterable[int]) -> dict[int, Deployment]:
        wanted = set(hotfix_ids)
        unread = wanted - self._deployments.keys()
        if unread:
            query = (
                select(Deployment)
                .where(col(Deployment.hotfix_id).in_(unread))
                .order_by(col(Deployment.id))
            )
            latest: dict[int, Deployment | None] = dict.fromkeys(unread)
            for row in self.session.exec(query):
                latest[row.hotfix_id] = row
            self._deployments.update(latest)
        found = {i: self._deployments[i] for i in wanted}
        return {i: row for i, row in found.items() if row is not None}

    # report --------------------------------------------------------------------------------
    def hotfixes_opened_between(
        self, since: datetime, until: datetime, application_id: int | None = None
    ) -> list[Hotfix]:
        """Hotfixes opened in [since, until), the oldest first; of one application if given."""
        query = select(Hotfix).where(col(Hotfix.opened_at) >= since, col(Hotfix.opened_at) < until)
        if application_id is not None:
            query = query.where(Hotfix.application_id == application_id)
        return list(self.session.exec(query.order_by(col(Hotfix.opened_at), col(Hotfix.id))))

    def skipped_items(self, hotfix_ids: Iterable[int]) -> list[tuple[int, str, str, str]]:
        """(hotfix id, environment, module, reason) of skipped checklist items, in order."""
        wanted = sorted(set(hotfix_ids))
        if not wanted:
            return []
        query = (
            select(ChecklistItem.hotfix_id, EnvironmentRow.name, Module.name, ChecklistItem.reason)
            .join(EnvironmentRow, col(EnvironmentRow.id) == col(ChecklistItem.environment_id))
            .join(Module, col(Module.id) == col(ChecklistItem.module_id))
            .where(col(ChecklistItem.hotfix_id).in_(wanted), ChecklistItem.status == "skipped")
            .order_by(col(ChecklistItem.hotfix_id), col(ChecklistItem.id))
        )
        return [(int(h), str(e), str(m), str(r or "")) for h, e, m, r in self.session.exec(query)]

    def events(self, hotfix_id: int) -> list[Event]:
        query = select(Event).where(Event.hotfix_id == hotfix_id).order_by(col(Event.id))
        return list(self.session.exec(query))

    # LifeTime watch ------------------------------------------------------------------------
    def lifetime_observation(
        self, application_id: int, environment_id: int
    ) -> LifeTimeObservation | None:
        # Labels are kept as read (`_versions`), not as rows: the caller may change this one,
        # so the application's versions are read again (after a flush) when asked next.
        self._versions.pop(application_id, None)
        return self.session.get(LifeTimeObservation, (application_id, environment_id))

    def lifetime_observations(self, application_id: int) -> list[LifeTimeObservation]:
        query = select(LifeTimeObservation).where(
            LifeTimeObservation.application_id == application_id
        )
        return list(self.session.exec(query))

    def lifetime_suggestion(
        self, suggestion_id: int, *, for_update: bool = False
    ) -> LifeTimeSuggestion | None:
        return self.session.get(LifeTimeSuggestion, suggestion_id, with_for_update=for_update)

    def lifetime_suggestion_for_change(
        self, application_id: int, change: str
    ) -> LifeTimeSuggestion | None:
        """The suggestion already made for this set of new module versions, if any: the watch
        tells each change once."""
        query = select(LifeTimeSuggestion).where(
            LifeTimeSuggestion.application_id == application_id,
            LifeTimeSuggestion.change == change,
        )
        return self.session.exec(query).first()


# the hot path's statements (see `_built`) -------------------------------------------------------


def _insert(table: Any, dialect: str) -> Any:
    """The dialect's INSERT (both have ON CONFLICT): the SQL the running backend speaks."""
    return pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)


def _lock_hotfix_statement() -> Any:
    return (
        sa_select(Hotfix, Application)
        .join(Application, col(Application.id) == col(Hotfix.application_id))
        .where(col(Hotfix.id) == bindparam("hotfix_id"))
        .with_for_update(of=Hotfix)  # type: ignore[arg-type]
    )


def _around_hotfix_statement() -> Any:
    """Everything hanging off one hotfix, each kind on rows of its own (`part`), so a hotfix
    of 8 modules gives about 30 rows rather than the product of its checklist and the rest."""
    parts: Any = union_all(*(sa_select(literal_column(str(n)).label("k")) for n in range(1, 9)))
    part = parts.subquery("part")
    k = part.c.k
    latest = (
        sa_select(func.max(Deployment.id))
        .where(col(Deployment.hotfix_id) == col(Hotfix.id))
        .correlate(Hotfix)
        .scalar_subquery()
    )
    seen = and_(
        col(LifeTimeObservation.application_id) == col(AppVersion.application_id),
        col(LifeTimeObservation.environment_id) == col(AppVersion.environment_id),
    )
    of_hotfix = col(Hotfix.id)
    # Rows an operation may change come as ORM instances; owners, modules, members and
    # messages only as the columns read (building instances of them cost more than the read).
    return (
        sa_select(k, Reminder, Deployment, ChecklistItem, AppVersion)
        .add_columns(
            col(LifeTimeObservation.label),
            col(HotfixOwner.user_id),
            col(Module.id),
            col(Module.name),
            col(Member.user_id),
            col(Member.role),
            col(Message.channel),
            col(Message.ts),
            col(Message.shown_revision),
        )
        .select_from(Hotfix)
        .join(part, true())
        .outerjoin(Reminder, and_(k == 1, col(Reminder.hotfix_id) == of_hotfix))
        .outerjoin(
            Deployment,
            and_(k == 2, col(Deployment.hotfix_id) == of_hotfix, col(Deployment.id) == latest),
        )
        .outerjoin(ChecklistItem, and_(k == 3, col(ChecklistItem.hotfix_id) == of_hotfix))
        .outerjoin(
            AppVersion,
            and_(k == 4, col(AppVersion.application_id) == col(Hotfix.application_id)),
        )
        .outerjoin(LifeTimeObservation, seen)
        .outerjoin(HotfixOwner, and_(k == 5, col(HotfixOwner.hotfix_id) == of_hotfix))
        .outerjoin(HotfixModule, and_(k == 6, col(HotfixModule.hotfix_id) == of_hotfix))
        .outerjoin(Module, col(Module.id) == col(HotfixModule.module_id))
        .outerjoin(Member, and_(k == 7, col(Member.application_id) == col(Hotfix.application_id)))
        .outerjoin(Message, and_(k == 8, col(Message.hotfix_id) == of_hotfix))
        .where(of_hotfix == bindparam("hotfix_id"))
        .order_by(
            k,
            col(ChecklistItem.id),
            col(HotfixOwner.user_id),
            col(Module.id),
            col(Member.role),
            col(Member.user_id),
            col(Message.channel),
        )
    )


def _by_name_statement(for_update: bool) -> Any:
    query = sa_select(Application).where(col(Application.name_key) == bindparam("key"))
    return query.with_for_update() if for_update else query


def _current_hotfix_statement() -> Any:
    unsolved_first = case((col(Hotfix.state).in_(ACTIVE_HOTFIX_STATES), 0), else_=1)
    return (
        sa_select(Hotfix)
        .where(col(Hotfix.application_id) == bindparam("application_id"))
        .order_by(unsolved_first, col(Hotfix.id).desc())
        .limit(1)
    )


def _module_names_statement() -> Any:
    module = _columns(Module)
    return (
        sa_select(module.application_id, module.name)
        .where(module.application_id.in_(bindparam("wanted", expanding=True)))
        .where(module.retired.is_(False))
        .order_by(module.id)
    )


def _active_hotfix_refs_statement() -> Any:
    hotfix = _columns(Hotfix)
    return (
        sa_select(hotfix.id, hotfix.application_id)
        .where(hotfix.state.in_(ACTIVE_HOTFIX_STATES))
        .order_by(hotfix.opened_at, hotfix.id)
    )


def _columns(model: type[SQLModel]) -> Any:
    """The Core columns of a model's table: statements over them skip the ORM's loading."""
    return model.__table__.c  # type: ignore[attr-defined]


def _version_rows_statement() -> Any:
    version, seen = _columns(AppVersion), _columns(LifeTimeObservation)
    observed = and_(
        seen.application_id == version.application_id,
        seen.environment_id == version.environment_id,
    )
    return (
        sa_select(
            version.application_id,
            version.environment_id,
            version.tag,
            version.has_changes,
            seen.label,
        )
        .select_from(version.application_id.table.outerjoin(seen.label.table, observed))
        .where(version.application_id.in_(bindparam("wanted", expanding=True)))
    )


def _application_rows_statement() -> Any:
    app = _columns(Application)
    return sa_select(app.id, app.name, app.home_channel, app.require_approval, app.deployer).where(
        app.id.in_(bindparam("wanted", expanding=True))
    )


def _hotfix_rows_statement() -> Any:
    hotfix = _columns(Hotfix)
    return (
        sa_select(*hotfix)
        .where(hotfix.id.in_(bindparam("wanted", expanding=True)))
        .order_by(hotfix.id)
    )


def _checklist_rows_statement() -> Any:
    item = _columns(ChecklistItem)
    return (
        sa_select(
            item.hotfix_id,
            item.environment_id,
            item.module_id,
            item.status,
            item.reason,
            item.done_by,
            item.done_at,
            item.evidence_at,
        )
        .where(item.hotfix_id.in_(bindparam("wanted", expanding=True)))
        .order_by(item.id)
    )


def _deployment_rows_statement() -> Any:
    deployment = _columns(Deployment)
    return (
        sa_select(
            deployment.hotfix_id,
            deployment.deployer,
            deployment.version,
            deployment.status,
            deployment.info,
            deployment.last_log,
            deployment.stuck,
            deployment.created_at,
        )
        .where(deployment.hotfix_id.in_(bindparam("wanted", expanding=True)))
        .order_by(deployment.id)
    )


def _members_statement() -> Any:
    member = _columns(Member)
    return (
        sa_select(member.application_id, member.user_id, member.role)
        .where(member.application_id.in_(bindparam("wanted", expanding=True)))
        .order_by(member.role, member.user_id)
    )


def _details_statement() -> Any:
    wanted: Any = bindparam("wanted", expanding=True)
    owners: Any = sa_select(
        literal_column("'owner'").label("kind"),
        col(HotfixOwner.hotfix_id).label("hotfix_id"),
        col(HotfixOwner.user_id).label("a"),
        literal_column("NULL").label("b"),
        literal_column("NULL").label("n"),
    ).where(col(HotfixOwner.hotfix_id).in_(wanted))
    modules: Any = (
        sa_select(
            literal_column("'module'"),
            col(HotfixModule.hotfix_id),
            col(Module.name),
            literal_column("NULL"),
            col(Module.id),
        )
        .join(Module, col(Module.id) == col(HotfixModule.module_id))
        .where(col(HotfixModule.hotfix_id).in_(wanted))
    )
    messages: Any = sa_select(
        literal_column("'message'"),
        col(Message.hotfix_id),
        col(Message.channel),
        col(Message.ts),
        col(Message.shown_revision),
    ).where(col(Message.hotfix_id).in_(wanted), col(Message.ts) != "")
    # One row per hotfix names its application, so one without members reads as none.
    applications: Any = sa_select(
        literal_column("'hotfix'"),
        col(Hotfix.id),
        literal_column("NULL"),
        literal_column("NULL"),
        col(Hotfix.application_id),
    ).where(col(Hotfix.id).in_(wanted))
    members: Any = (
        sa_select(
            literal_column("'member'"),
            col(Hotfix.id),
            col(Member.user_id),
            col(Member.role),
            col(Member.application_id),
        )
        .join(Member, col(Member.application_id) == col(Hotfix.application_id))
        .where(col(Hotfix.id).in_(wanted))
    )
    union = union_all(owners, modules, messages, applications, members).subquery()
    return sa_select(union).order_by(union.c.kind, union.c.a, union.c.n)


def _outbox_of_statement() -> Any:
    hotfix_id: Any = bindparam("hotfix_id")
    waiting = (
        sa_select(literal_column("1"))
        .where(col(Outbox.hotfix_id) == hotfix_id, col(Outbox.delivered_at).is_(None))
        .exists()
    )
    return (
        sa_select(Message, waiting)
        .where(col(Message.hotfix_id) == hotfix_id)
        .order_by(col(Message.channel))
        .with_for_update(of=Message)  # type: ignore[arg-type]
    )


def _finish_messages_statement() -> Any:
    # On the table, not the ORM class: with one set of values per row the ORM would want
    # whole primary keys in the values and drop the claim condition.
    table: Any = Message.__table__  # type: ignore[attr-defined]
    c = table.c
    ts: Any = bindparam("ts", type_=String)
    shown = ts.is_not(None)
    revision: Any = bindparam("revision", type_=Integer)
    unreachable: Any = bindparam("unreachable", type_=Boolean)
    return (
        update(table)
        .where(
            c.hotfix_id == bindparam("of_hotfix"),
            c.channel == bindparam("of_channel"),
            c.claimed_by == bindparam("of_claim"),
        )
        .values(
            ts=func.coalesce(ts, c.ts),
            shown_revision=case(
                (and_(shown, revision > c.shown_revision), revision), else_=c.shown_revision
            ),
            attempts=case((shown, 0), else_=c.attempts),
            # Not a member of the channel: tried again at the next change, not before.
            wanted_revision=case((unreachable, c.shown_revision), else_=c.wanted_revision),
            claimed_by=None,
            claimed_until=None,
        )
    )


def _more_to_deliver_statement() -> Any:
    hotfix_id: Any = bindparam("hotfix_id")
    now: Any = bindparam("now")
    lagging = (
        sa_select(literal_column("1"))
        .where(
            col(Message.hotfix_id) == hotfix_id,
            col(Message.wanted_revision) > col(Message.shown_revision),
            col(Message.claimed_by).is_(None),
            or_(
                col(Message.attempts) == 0,
                col(Message.next_attempt_at).is_(None),
                col(Message.next_attempt_at) <= now,
            ),
        )
        .exists()
    )
    waiting = (
        sa_select(literal_column("1"))
        .where(
            col(Outbox.hotfix_id) == hotfix_id,
            col(Outbox.delivered_at).is_(None),
            col(Outbox.claimed_by).is_(None),
            or_(
                col(Outbox.attempts) == 0,
                col(Outbox.next_attempt_at).is_(None),
                col(Outbox.next_attempt_at) <= now,
            ),
        )
        .exists()
    )
    return sa_select(or_(lagging, waiting))


def _release_lines_statement() -> Any:
    delivered = col(Outbox.id).in_(bindparam("done", expanding=True))
    return (
        update(Outbox)
        .where(
            col(Outbox.hotfix_id) == bindparam("of_hotfix"),
            col(Outbox.claimed_by) == bindparam("of_claim"),
        )
        .values(
            delivered_at=case((delivered, bindparam("at")), else_=col(Outbox.delivered_at)),
            claimed_by=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )


class Database:
    """Opens one transaction per operation; the service layer holds no session of its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cache: dict[str, Any] = {}

    @contextmanager
    def write(self) -> Iterator[Repository]:
        try:
            with write_session(self.engine) as session:
                yield Repository(session, self.cache)
        except IntegrityError as error:
            raise StorageConflict(str(error.orig)) from error
        except OperationalError as error:
            if _is_concurrency_failure(error):
                raise StorageConflict(str(error.orig)) from error
            raise

    @contextmanager
    def read(self) -> Iterator[Repository]:
        with read_session(self.engine) as session:
            yield Repository(session, self.cache)

    def ping(self) -> bool:
        try:
            with self.read() as repository:
                repository.session.exec(select(1)).one()
        except Exception:
            return False
        return True


def _is_concurrency_failure(error: OperationalError) -> bool:
    text = str(error.orig).lower()
    return any(
        marker in text
        for marker in ("deadlock", "could not serialize", "database is locked", "lock timeout")
    )
