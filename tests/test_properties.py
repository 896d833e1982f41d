"""Random operation sequences: the invariants of the seeds' flow hold whatever people do.

A Hypothesis state machine plays open, Tag & Deploy, approve, reject, merge, skip, solve and
cancel in any order, by owners, approvers, strangers and admins, with good and bad arguments.
After every step: Production's tag never went down; an application is red if and only if it has
an unsolved hotfix; a solved hotfix has a complete checklist; a refused step changed nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from commands import applications, hotfixes, queries
from commands.actors import Actor
from commands.context import ServiceContext
from commands.errors import DomainError
from commands.lifecycle import HotfixState
from commands.versions import Version
from storage.repository import Database
from storage.setup import open_database
from tests.conftest import ADMIN, EXAMPLE_CATALOG
from tests.support import MovableClock, dump

MEMBERS = [Actor("U0ANA"), Actor("U0RAJ"), Actor("U0LEE"), Actor("U0KIM"), ADMIN]
anyone = st.sampled_from([*MEMBERS, Actor("U0NOBODY")])
member = st.sampled_from(MEMBERS)
approver = st.sampled_from([Actor("U0LEE"), Actor("U0KIM"), Actor("U0ANA")])
application = st.sampled_from(["eCommerce", "eCommerce", "Back Office"])
environment = st.sampled_from(["qa", "dev", "qa", "dev", "prod", "preprod", "staging"])
module = st.sampled_from(["Checkout", "Payments", "Orders", "Reports", "Catalog"])
version = st.sampled_from([None, None, "1.7.1", "1.7.4", "2.3.5", "1.6.0", "x"])
which = st.sampled_from(["latest", "latest", "latest", "HF-1", "HF-2", "HF-99"])

_TEMPLATE: dict[str, Path] = {}


def template() -> Path:
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="hotfix-template-"))
        path = folder / "catalog.db"
        database = open_database(f"sqlite:///{path}", upgrade=True)
        applications.load_catalog(ServiceContext(database), ADMIN, EXAMPLE_CATALOG)
        database.engine.dispose()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


class HotfixFlow(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.path = template().parent / f"run-{uuid.uuid4().hex}.db"
        shutil.copy(template(), self.path)
        self.database: Database = open_database(f"sqlite:///{self.path}", upgrade=True)
        self.clock = MovableClock()
        self.ctx = ServiceContext(self.database, self.clock)
        self.tags = self.production_tags()

    def teardown(self) -> None:
        self.database.engine.dispose()
        self.path.unlink(missing_ok=True)

    def ref(self, choice: str) -> str:
        if choice != "latest":
            return choice
        red = queries.red_hotfixes(self.ctx)
        return red[-1].ref if red else "HF-1"

    def attempt(self, name: str, action: Callable[[], object]) -> None:
        self.clock.advance(minutes=7)
        before = dump(self.database.engine)
        try:
            action()
        except DomainError:
            assert dump(self.database.engine) == before, f"refused {name} changed the database"
            event(f"refused {name}")
        else:
            event(f"applied {name}")

    @rule(who=anyone, app=application, mods=st.integers(1, 2), force=st.booleans())
    def open(self, who: Actor, app: str, mods: int, force: bool) -> None:
        modules = {"eCommerce": ["Checkout", "Payments"], "Back Office": ["Orders", "Reports"]}
        chosen = modules[app][:mods]
        self.attempt(
            "open",
            lambda: hotfixes.open_hotfix(self.ctx, who, app, chosen, "defect", force=force),
        )

    @rule(who=anyone, choice=which, tag=version)
    def deploy(self, who: Actor, choice: str, tag: str | None) -> None:
        ref = self.ref(choice)
        self.attempt("deploy", lambda: hotfixes.request_deploy(self.ctx, who, ref, tag))

    @rule(who=approver, choice=which)
    def approve(self, who: Actor, choice: str) -> None:
        ref = self.ref(choice)
        self.attempt("approve", lambda: hotfixes.approve_deploy(self.ctx, who, ref))

    @rule(who=approver, choice=which)
    def reject(self, who: Actor, choice: str) -> None:
        ref = self.ref(choice)
        self.attempt("reject", lambda: hotfixes.reject_deploy(self.ctx, who, ref, "not yet"))

    @rule(who=member, choice=which, env=environment, mod=module)
    def merge(self, who: Actor, choice: str, env: str, mod: str) -> None:
        ref = self.ref(choice)
        self.attempt("merge", lambda: hotfixes.mark_merged(self.ctx, who, ref, env, mod))

    @rule(
        who=member, choice=which, env=environment, mod=module, reason=st.sampled_from(["", "n/a"])
    )
    def skip(self, who: Actor, choice: str, env: str, mod: str, reason: str) -> None:
        ref = self.ref(choice)
        self.attempt("skip", lambda: hotfixes.mark_skipped(self.ctx, who, ref, env, mod, reason))

    @rule(who=anyone, choice=which)
    def solve(self, who: Actor, choice: str) -> None:
        ref = self.ref(choice)
        self.attempt("solve", lambda: hotfixes.solve(self.ctx, who, ref))

    @rule(who=anyone, choice=which)
    def cancel(self, who: Actor, choice: str) -> None:
        ref = self.ref(choice)
        self.attempt("cancel", lambda: hotfixes.cancel(self.ctx, who, ref, "mistake"))

    def next_sensible_step(self) -> None:
        """What a diligent team would do next, so that deep states are reached often."""
        red = queries.red_hotfixes(self.ctx)
        if not red:
            self.attempt(
                "open",
                lambda: hotfixes.open_hotfix(
                    self.ctx, MEMBERS[0], "eCommerce", ["Checkout", "Payments"], "defect"
                ),
            )
            return
        hotfix = red[0]
        if hotfix.state is HotfixState.OPEN:
            self.attempt(
                "deploy", lambda: hotfixes.request_deploy(self.ctx, MEMBERS[0], hotfix.ref)
            )
        elif hotfix.state is HotfixState.AWAITING_APPROVAL:
            self.attempt(
                "approve", lambda: hotfixes.approve_deploy(self.ctx, MEMBERS[3], hotfix.ref)
            )
        elif hotfix.active_environment is not None:
            pending = hotfix.pending_modules(hotfix.active_environment)[0]
            environment = hotfix.active_environment
            self.attempt(
                "merge",
                lambda: hotfixes.mark_merged(
                    self.ctx, MEMBERS[1], hotfix.ref, environment, pending
                ),
            )
        else:
            self.attempt("solve", lambda: hotfixes.solve(self.ctx, MEMBERS[1], hotfix.ref))

    @rule()
    def progress(self) -> None:
        self.next_sensible_step()

    @rule()
    def more_progress(self) -> None:
        self.next_sensible_step()

    @rule()
    def even_more_progress(self) -> None:
        self.next_sensible_step()

    def production_tags(self) -> dict[str, Version]:
        return {
            app.name: Version.parse(next(line.tag for line in app.pipeline if line.is_production))
            for app in queries.applications(self.ctx)
        }

    @invariant()
    def production_never_goes_down(self) -> None:
        tags = self.production_tags()
        for app, tag in tags.items():
            assert tag >= self.tags[app], f"Production's tag of {app} went down"
        self.tags = tags

    @invariant()
    def red_if_and_only_if_unsolved(self) -> None:
        red_refs = {h.ref for h in queries.red_hotfixes(self.ctx)}
        for app in queries.applications(self.ctx):
            red_lines = [line.name for line in app.pipeline if line.red]
            assert red_lines == (["Pre-Production"] if app.active_hotfix else [])
        for number in range(1, 30):
            try:
                snapshot = queries.hotfix_status(self.ctx, f"HF-{number}")
            except DomainError:
                break
            unsolved = snapshot.state not in (HotfixState.SOLVED, HotfixState.CANCELLED)
            assert snapshot.red == unsolved == (snapshot.ref in red_refs)
            assert any(line.red for line in snapshot.pipeline) == unsolved
            if snapshot.state is HotfixState.SOLVED:
                assert all(item.status.is_done for item in snapshot.checklist)
                assert snapshot.deployed_version is not None


HotfixFlow.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_hotfix_flow_invariants = HotfixFlow.TestCase
