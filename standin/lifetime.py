"""A fake OutSystems LifeTime (Deployment API v2) served over real HTTP on 127.0.0.1.

Usage::

    with FakeLifeTime() as lifetime:
        lifetime.add_environment("Production", 2, "Production")
        lifetime.add_application("eCommerce", ["Checkout", "Catalog"])
        lifetime.set_running("eCommerce", "Production", "1.7.0")
        client = LifeTimeClient(lifetime.base_url, lifetime.token)

It follows LifeTime's PUBLISHED definition, not the bot's client: the swagger
``src/ref/apis/auto/resources/lifetime-api.json`` of the public OutSystems/docs-product repository
(content types, status codes, body shapes, field names), plus what OutSystems' own client
(OutSystems/outsystems-pipeline, ``outsystems/lifetime/``) shows. In particular:

* ``POST /deployments/`` produces ``text/plain``: the body is the bare plan key, not JSON;
* ``GET /applications/{key}/versions/{key}/`` requires ``IncludeModules`` (400 without it);
* ``MinDate``/``MaxDate`` are dates (``2014-12-31``); a date-time is refused (400);
* ``DELETE /deployments/{key}/`` discards a plan only while it is ``saved`` (204, else 400);
* statuses include ``force_finished``; versions have two or three numbers (``1.7``, ``1.7.1``).

It keeps its state in memory behind one lock, and lets a test script what LifeTime does: how
each deployment's status moves (one step per ``GET .../status/`` after ``start``; any word,
``force_finished`` or one LifeTime never documented, can be injected), conflicts, an expired
token, 5xx answers, slow answers, the pre-11.21.0 one-plan-per-target rule
(:attr:`one_plan_per_target`) and a newly tagged version that takes time to be usable
(:meth:`slow_new_versions`). A successful deployment makes the target run the deployed version.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from standin.serving import LoopbackServer

logger = logging.getLogger(__name__)

API_PATH = "/lifetimeapi/rest/v2"
DEFAULT_TOKEN = "lt-test-token"
SERVICE_ACCOUNT = "hotfix-bot"
DEFAULT_SCRIPT = ("running", "running", "finished_successful")
DEFAULT_CONTINUATION = ("running", "finished_successful")
SCRIPT_STEPS = frozenset(
    {
        "running",
        "needs_user_intervention",
        "aborted",
        "finished_successful",
        "finished_with_warnings",
        "finished_with_errors",
        "force_finished",  # ended by hand in LifeTime; nothing deployed unless a test says so
    }
)
_SUCCESS = frozenset({"finished_successful", "finished_with_warnings"})
_OVER = _SUCCESS | {"finished_with_errors", "aborted", "force_finished"}
# Plans that hold their target before LifeTime 11.21.0 (only one plan per target may exist).
_HOLDING = frozenset({"saved", "running", "needs_user_intervention"})
_RUNNING_MESSAGES = (
    "Uploading modules from {source} to {target}",
    "Compiling {operations}",
    "Deploying {operations} to {target}",
    "Updating references in {target}",
)

JSON = dict[str, Any]
Route = Callable[["_Request", "re.Match[str]"], "_Answer"]


class _ApiError(Exception):
    """Answered as LifeTime's Exception body with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class _Request:
    method: str
    path: str  # relative to API_PATH, always ending with "/"
    query: dict[str, str]
    body: bytes
    token: str | None


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: Any = None  # None: empty body
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # a text/plain body instead of JSON


@dataclass
class _Failure:
    method: str
    prefix: str
    status: int
    remaining: int
    retry_after: int | None


@dataclass
class _Environment:
    key: str
    name: str
    order: int
    kind: str


@dataclass
class _Application:
    key: str
    name: str
    modules: dict[str, str]  # module name -> module key


@dataclass
class _Version:
    key: str
    application_key: str
    version: str
    change_log: str
    created_on: datetime
    created_by: str
    module_version_keys: dict[str, str]  # module key -> module version key


@dataclass
class _Running:
    version_key: str
    modified: bool
    module_version_keys: dict[str, str]  # module key -> module version key


@dataclass
class _Deployment:
    key: str
    source_key: str
    target_key: str
    notes: str
    created_on: datetime
    created_by: str
    operations: list[tuple[str, str]]  # (application key, application version key)
    conflicts: list[JSON]
    steps: deque[str]
    status: str = "saved"
    info: str = ""
    log: list[tuple[datetime, str]] = field(default_factory=list)
    running_steps: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLifeTime

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a delayed answer closes its socket: expected, not noise.
        logger.debug("fake lifetime: connection from %s dropped", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake lifetime: " + format, *args)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        answer = self.server.fake._handle(
            self.command, url.path, query, body, _bearer(self.headers.get("Authorization"))
        )
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        if answer.text is not None:
            data, kind = answer.text.encode(), "text/plain; charset=utf-8"
        else:
            data = b"" if answer.payload is None else json.dumps(answer.payload).encode()
            kind = "application/json; charset=utf-8"
        self.send_response(answer.status)
        if data:
            self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def _error(status: int, message: str) -> _Answer:
    return _Answer(status, {"Errors": [message], "StatusCode": status})


def _instant(moment: datetime) -> str:
    """LifeTime's date-time format: UTC with milliseconds, ``2018-10-10T15:36:11.797Z``."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _new_key() -> str:
    return str(uuid.uuid4())


class FakeLifeTime(LoopbackServer):
    """Fake LifeTime Deployment API v2 over HTTP: seeding, scripted deployments, fault injection.

    ``token`` is the only bearer token accepted. ``clock`` gives CreatedOn and log instants
    (defaults to now, UTC). ``calls`` records (method, path relative to the API base) of every
    request, answered or failed, in arrival order.
    """

    name = "fake-lifetime"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        clock: Callable[[], datetime] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._token = token
        self._token_expired = False
        self._clock = clock or (lambda: datetime.now(UTC))
        super().__init__(host, port)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._environments: dict[str, _Environment] = {}
        self._applications: dict[str, _Application] = {}
        self._versions: dict[str, _Version] = {}
        self._running: dict[tuple[str, str], _Running] = {}  # (env key, app key)
        self._deployments: dict[str, _Deployment] = {}
        self._next_conflicts: list[JSON] = []
        self._next_script: tuple[str, ...] | None = None
        self.one_plan_per_target = False  # True: LifeTime before 11.21.0
        # False: AppStatusInEnvs without BaseApplicationVersionLabel (only the version key)
        self.version_labels_in_status = True
        self._refuse_starts: list[int] = []  # statuses answered to the next start commands
        self._slow_reads = 0  # reads a newly tagged version stays unusable
        self._unready: dict[str, int] = {}  # version key -> reads left before it is usable
        self._failures: list[_Failure] = []
        self._delays: dict[str, float] = {}
        self._calls: list[tuple[str, str]] = []
        self._routes = self._route_table()

    # ------------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        self._stopping.clear()
        return super().start()

    def stop(self) -> None:
        """Stop serving; delayed answers still pending are cut short."""
        self._stopping.set()
        super().stop()

    def _build_server(self, address: tuple[str, int]) -> _Server:
        server = _Server(address, _Handler)
        server.fake = self
        return server

    @property
    def base_url(self) -> str:
        """What LifeTimeClient expects: ``http://127.0.0.1:PORT/lifetimeapi/rest/v2``."""
        return f"{self.url}{API_PATH}"

    # --------------------------------------------------------------------------- seeding

    def add_environment(self, name: str, order: int, kind: str) -> str:
        """Register an environment; ``kind`` is its EnvironmentType (Development, Production...)."""
        with self._lock:
            key = _new_key()
            self._environments[key] = _Environment(key, name, order, kind)
            return key

    def add_application(self, name: str, modules: list[str]) -> str:
        with self._lock:
            key = _new_key()
            self._applications[key] = _Application(key, name, {m: _new_key() for m in modules})
            return key

    def set_running(
        self, app_name: str, env_name: str, version: str, modified: bool = False
    ) -> str:
        """Make ``env_name`` run ``version`` of ``app_name`` (creating the version if new).

        ``modified`` means modules were published since the tag: the environment then runs
        module versions other than the tagged ones, as in LifeTime. Returns the version key.
        """
        with self._lock:
            app = self._application_named(app_name)
            env = self._environment_named(env_name)
            tagged = self._version_named(app, version) or self._new_version(app, version)
            modules = dict(tagged.module_version_keys)
            if modified:
                modules = {module: _new_key() for module in modules}
            self._running[(env.key, app.key)] = _Running(tagged.key, modified, modules)
            return tagged.key

    def publish_module(self, app_name: str, env_name: str, module: str) -> str:
        """Someone publishes ``module`` in ``env_name`` without tagging: the environment runs a
        new module version, and LifeTime marks the application IsModified (the red ``+``).
        Returns the new module version key."""
        with self._lock:
            app = self._application_named(app_name)
            env = self._environment_named(env_name)
            running = self._running.get((env.key, app.key))
            if running is None:
                raise ValueError(f"{app_name} does not run in {env_name}")
            module_key = app.modules[module]
            new_key = _new_key()
            running.module_version_keys[module_key] = new_key
            running.modified = True
            return new_key

    @property
    def token(self) -> str:
        """The bearer token LifeTime accepts now."""
        with self._lock:
            return self._token

    def expire_token(self) -> None:
        """Every call answers 401 until :meth:`renew_token`."""
        with self._lock:
            self._token_expired = True

    def renew_token(self, new: str) -> None:
        with self._lock:
            self._token = new
            self._token_expired = False

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        times: int = 1,
        *,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` ``method`` calls under ``path_prefix`` (relative to the API
        base, e.g. ``"/deployments/"``) with ``status``, before any other check."""
        with self._lock:
            self._failures.append(_Failure(method.upper(), path_prefix, status, times, retry_after))

    def delay(self, path_prefix: str, seconds: float) -> None:
        """Hold every answer under ``path_prefix`` for ``seconds`` (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._delays[path_prefix] = seconds
            else:
                self._delays.pop(path_prefix, None)

    def add_conflict_for_next_deployment(
        self, message: str, conflict_type: str = "Producer Element Missing"
    ) -> None:
        """The next plan created reports this conflict in ApplicationConflicts."""
        with self._lock:
            self._next_conflicts.append(
                {"Message": message, "ModuleConflict": {"ConflictType": conflict_type}}
            )

    def refuse_next_start(self, status: int = 400) -> None:
        """The next ``start`` command is answered ``status`` and the plan stays ``saved`` (400:
        "Command start can't be executed", e.g. the target is in maintenance mode)."""
        with self._lock:
            self._refuse_starts.append(status)

    def slow_new_versions(self, reads: int) -> None:
        """Each version tagged through the API stays unusable for its next ``reads`` reads:
        LifeTime answers 404 for it, and refuses a plan with it, meanwhile (swagger: "the new
        version will require some processing time before it becomes available for use")."""
        with self._lock:
            self._slow_reads = reads

    def script_next_deployment(self, steps: list[str], *, unknown_ok: bool = False) -> None:
        """How the next plan's status moves after ``start``, one step per status read.

        A script may pause on ``needs_user_intervention``: ``continue`` resumes with the steps
        left, or ``["running", "finished_successful"]`` when none are. ``unknown_ok`` lets a
        step be a word LifeTime never documented: it is answered verbatim and stays.
        """
        unknown = [step for step in steps if step not in SCRIPT_STEPS and not unknown_ok]
        if unknown or not steps:
            raise ValueError(f"script steps must be among {sorted(SCRIPT_STEPS)}; got {steps!r}")
        with self._lock:
            self._next_script = tuple(steps)

    def create_deployment_plan(
        self,
        source_env: str,
        target_env: str,
        app_name: str,
        *,
        notes: str = "",
        created_by: str = "Another Team",
        created_on: datetime | None = None,
    ) -> str:
        """Another team saves a plan deploying what ``source_env`` runs of ``app_name``."""
        with self._lock:
            app = self._application_named(app_name)
            source = self._environment_named(source_env)
            target = self._environment_named(target_env)
            running = self._running.get((source.key, app.key))
            if running is None:
                raise ValueError(f"{app_name} does not run in {source_env}")
            return self._save_deployment(
                source.key,
                target.key,
                [(app.key, running.version_key)],
                notes=notes,
                created_by=created_by,
                created_on=created_on or self._clock(),
            ).key

    # ------------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._calls)

    @property
    def deployment_statuses(self) -> dict[str, str]:
        """Deployment key -> current status."""
        with self._lock:
            return {key: plan.status for key, plan in self._deployments.items()}

    def running_version(self, app_name: str, env_name: str) -> str | None:
        """The tagged version ``env_name`` runs of ``app_name``, or None when it is not there."""
        with self._lock:
            running = self._running_of(app_name, env_name)
            return None if running is None else self._versions[running.version_key].version

    def is_modified(self, app_name: str, env_name: str) -> bool:
        with self._lock:
            running = self._running_of(app_name, env_name)
            return running is not None and running.modified

    def _running_of(self, app_name: str, env_name: str) -> _Running | None:
        app = self._application_named(app_name)
        env = self._environment_named(env_name)
        return self._running.get((env.key, app.key))

    # ---------------------------------------------------------------------------- lookups

    def _application_named(self, name: str) -> _Application:
        for app in self._applications.values():
            if app.name == name:
                return app
        raise KeyError(f"no application {name!r} in the fake LifeTime")

    def _environment_named(self, name: str) -> _Environment:
        for env in self._environments.values():
            if env.name == name:
                return env
        raise KeyError(f"no environment {name!r} in the fake LifeTime")

    def _version_named(self, app: _Application, version: str) -> _Version | None:
        for tagged in self._versions.values():
            if tagged.application_key == app.key and tagged.version == version:
                return tagged
        return None

    def _new_version(
        self,
        app: _Application,
        version: str,
        change_log: str = "",
        modules: dict[str, str] | None = None,
    ) -> _Version:
        tagged = _Version(
            key=_new_key(),
            application_key=app.key,
            version=version,
            change_log=change_log,
            created_on=self._clock(),
            created_by=SERVICE_ACCOUNT,
            module_version_keys=modules or {m: _new_key() for m in app.modules.values()},
        )
        self._versions[tagged.key] = tagged
        return tagged

    def _app(self, key: str) -> _Application:
        if key not in self._applications:
            raise _ApiError(404, f"Failed to retrieve the application with key {key}.")
        return self._applications[key]

    def _env(self, key: str) -> _Environment:
        if key not in self._environments:
            raise _ApiError(404, f"Failed to retrieve the environment with key {key}.")
        return self._environments[key]

    def _deployment(self, key: str) -> _Deployment:
        if key not in self._deployments:
            raise _ApiError(404, f"Deployment with key {key} not found.")
        return self._deployments[key]

    # --------------------------------------------------------------------------- serving

    def _handle(
        self, method: str, raw_path: str, query: dict[str, str], body: bytes, token: str | None
    ) -> _Answer:
        """Delay, injected failure, authentication, then the route; records the call."""
        if not raw_path.startswith(API_PATH + "/"):
            return _error(404, f"Not found: {raw_path} (the API lives under {API_PATH}/)")
        path = raw_path[len(API_PATH) :].rstrip("/") + "/"
        with self._lock:
            self._calls.append((method, path))
            pause = max((s for p, s in self._delays.items() if path.startswith(p)), default=0.0)
        if pause:
            self._stopping.wait(pause)
        with self._lock:
            injected = self._take_failure(method, path)
            if injected is not None:
                return injected
            if token != self._token or self._token_expired:
                return _error(401, "Invalid or expired authentication token.")
            return self._route(_Request(method, path, query, body, token))

    def _take_failure(self, method: str, path: str) -> _Answer | None:
        for failure in self._failures:
            if failure.method == method and path.startswith(failure.prefix):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                answer = _error(failure.status, f"Injected failure {failure.status}.")
                return _Answer(answer.status, answer.payload, headers)
        return None

    def _route(self, request: _Request) -> _Answer:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                try:
                    return handler(request, match)
                except _ApiError as exc:
                    return _error(exc.status, exc.message)
        return _error(404, f"No such endpoint: {request.method} {request.path}")

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Route]]:
        key = r"([^/]+)"
        table: list[tuple[str, str, Route]] = [
            ("GET", "/environments/", self._get_environments),
            ("GET", "/applications/", self._get_applications),
            ("GET", f"/environments/{key}/applications/{key}/", self._get_app_in_env),
            ("GET", f"/applications/{key}/versions/{key}/", self._get_version),
            ("GET", f"/modules/{key}/", self._get_module),
            ("POST", f"/environments/{key}/applications/{key}/versions/", self._post_version),
            ("GET", "/deployments/", self._get_deployments),
            ("POST", "/deployments/", self._post_deployment),
            ("GET", f"/deployments/{key}/", self._get_deployment),
            ("DELETE", f"/deployments/{key}/", self._delete_deployment),
            ("GET", f"/deployments/{key}/status/", self._get_status),
            ("POST", f"/deployments/{key}/{key}/", self._post_command),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    # -------------------------------------------------------------- environments & apps

    def _get_environments(self, request: _Request, match: re.Match[str]) -> _Answer:
        environments = sorted(self._environments.values(), key=lambda env: env.order)
        return _Answer(200, [self._environment_json(env) for env in environments])

    def _get_applications(self, request: _Request, match: re.Match[str]) -> _Answer:
        with_status, with_modules = _include_flags(request)
        apps = sorted(self._applications.values(), key=lambda app: app.name.lower())
        if not apps:
            return _Answer(204)
        envs = list(self._environments) if with_status else []
        return _Answer(200, [self._application_json(app, envs, with_modules) for app in apps])

    def _get_app_in_env(self, request: _Request, match: re.Match[str]) -> _Answer:
        env, app = self._env(match[1]), self._app(match[2])
        with_status, with_modules = _include_flags(request)
        if (env.key, app.key) not in self._running:
            raise _ApiError(404, f"Application {app.name} is not deployed in {env.name}.")
        envs = [env.key] if with_status else []
        return _Answer(200, self._application_json(app, envs, with_modules))

    def _get_version(self, request: _Request, match: re.Match[str]) -> _Answer:
        # IncludeModules is "required": true here (swagger, Applications_Versions_Get).
        flag = request.query.get("IncludeModules", "").lower()
        if flag not in ("true", "false"):
            raise _ApiError(400, "The IncludeModules parameter is required (true or false).")
        app = self._app(match[1])
        tagged = self._versions.get(match[2])
        if tagged is None or tagged.application_key != app.key or self._still_processing(match[2]):
            raise _ApiError(404, f"Failed to retrieve the application with key {app.key}.")
        return _Answer(200, self._version_json(tagged, modules=flag == "true"))

    def _get_module(self, request: _Request, match: re.Match[str]) -> _Answer:
        # A Module record (swagger: GET /modules/{ModuleKey}/; Key, Name, Description, Kind).
        for app in self._applications.values():
            for name, module_key in app.modules.items():
                if module_key == match[1]:
                    body = {"Key": module_key, "Name": name, "Description": "", "Kind": "eSpace"}
                    return _Answer(200, body)
        raise _ApiError(404, f"Failed to retrieve the module with key {match[1]}.")

    def _still_processing(self, version_key: str) -> bool:
        """A slow new version: unusable (and counted down) until its reads are spent."""
        left = self._unready.get(version_key, 0)
        if left <= 0:
            return False
        self._unready[version_key] = left - 1
        return True

    def _post_version(self, request: _Request, match: re.Match[str]) -> _Answer:
        env, app = self._env(match[1]), self._app(match[2])
        body = _json_body(request)
        version = str(body.get("Version") or "").strip()
        running = self._running.get((env.key, app.key))
        if running is None:
            raise _ApiError(404, f"Application {app.name} is not deployed in {env.name}.")
        _check_version_request(app, version, self._version_named(app, version))
        expected = body.get("ModuleVersionKeys") or []
        if expected and sorted(expected) != sorted(running.module_version_keys.values()):
            raise _ApiError(
                400,
                f"The modules of {app.name} in {env.name} changed since they were read; "
                "read them again before tagging.",
            )
        modules = dict(running.module_version_keys)
        tagged = self._new_version(app, version, str(body.get("ChangeLog") or ""), modules)
        if self._slow_reads:
            self._unready[tagged.key] = self._slow_reads
        self._running[(env.key, app.key)] = _Running(tagged.key, False, modules)
        return _Answer(201, {"ApplicationVersionKey": tagged.key})

    # ------------------------------------------------------------------------ deployments

    def _get_deployments(self, request: _Request, match: re.Match[str]) -> _Answer:
        low = _query_bound(request.query.get("MinDate"), "MinDate", end_of_day=False)
        high = _query_bound(request.query.get("MaxDate"), "MaxDate", end_of_day=True)
        low = low or self._clock() - timedelta(days=7)
        high = high or datetime.combine(self._clock().date(), time.max, UTC)
        target = request.query.get("TargetEnvironmentKey")
        plans = [
            plan
            for plan in self._deployments.values()
            if low <= plan.created_on <= high and target in (None, plan.target_key)
        ]
        if not plans:
            return _Answer(204)
        plans.sort(key=lambda plan: plan.created_on, reverse=True)
        return _Answer(200, [self._deployment_json(plan) for plan in plans])

    def _post_deployment(self, request: _Request, match: re.Match[str]) -> _Answer:
        body = _json_body(request)
        source_key = str(body.get("SourceEnvironmentKey") or "")
        target_key = str(body.get("TargetEnvironmentKey") or "")
        if source_key not in self._environments or target_key not in self._environments:
            raise _ApiError(404, "Source or target environment not found.")
        if source_key == target_key:
            raise _ApiError(400, "The source and target environments must differ.")
        operations = [self._operation(op) for op in body.get("ApplicationOperations") or []]
        if not operations:
            raise _ApiError(400, "A deployment needs at least one application operation.")
        if self.one_plan_per_target:
            # Before LifeTime 11.21.0 one plan per target environment (swagger, POST
            # /deployments/: "From LifeTime 11.21.0, it is possible to create ... multiple").
            holding = [p for p in self._deployments.values() if p.target_key == target_key]
            holding = [p for p in holding if p.status in _HOLDING]
            if holding:
                raise _ApiError(
                    400,
                    f"There is already a deployment plan to {self._environments[target_key].name}"
                    f" ({holding[0].key}): finish or delete it first.",
                )
        plan = self._save_deployment(
            source_key,
            target_key,
            operations,
            notes=str(body.get("Notes") or ""),
            created_by=SERVICE_ACCOUNT,
            created_on=self._clock(),
        )
        # "produces": ["text/plain"], 200 with the key as a bare string (swagger).
        return _Answer(200, text=plan.key)

    def _operation(self, operation: object) -> tuple[str, str]:
        body = operation if isinstance(operation, dict) else {}
        version_key = str(body.get("ApplicationVersionKey") or "")
        tagged = self._versions.get(version_key)
        if tagged is None or self._unready.get(version_key, 0) > 0:
            raise _ApiError(400, f"Invalid application version key {version_key}.")
        return tagged.application_key, tagged.key

    def _save_deployment(
        self,
        source_key: str,
        target_key: str,
        operations: list[tuple[str, str]],
        *,
        notes: str,
        created_by: str,
        created_on: datetime,
    ) -> _Deployment:
        plan = _Deployment(
            key=_new_key(),
            source_key=source_key,
            target_key=target_key,
            notes=notes,
            created_on=created_on,
            created_by=created_by,
            operations=operations,
            conflicts=self._conflicts_for(operations),
            steps=deque(self._next_script or DEFAULT_SCRIPT),
        )
        self._next_conflicts, self._next_script = [], None
        self._deployments[plan.key] = plan
        return plan

    def _conflicts_for(self, operations: list[tuple[str, str]]) -> list[JSON]:
        """The pending conflicts, pinned on the plan's first operation like LifeTime's."""
        label = self._operation_json(operations[0])
        return [
            {
                **conflict,
                "ProducerApplicationOperation": label,
                "ConsumerApplicationOperation": label,
            }
            for conflict in self._next_conflicts
        ]

    def _get_deployment(self, request: _Request, match: re.Match[str]) -> _Answer:
        plan = self._deployment(match[1])
        return _Answer(
            200,
            {
                "Deployment": self._deployment_json(plan),
                "ApplicationsToRedeploy": [],
                "ApplicationConflicts": plan.conflicts,
            },
        )

    def _delete_deployment(self, request: _Request, match: re.Match[str]) -> _Answer:
        plan = self._deployment(match[1])
        if plan.status != "saved":
            raise _ApiError(400, f"Deployment with key {plan.key} cannot be deleted")
        del self._deployments[plan.key]
        return _Answer(204)

    def _post_command(self, request: _Request, match: re.Match[str]) -> _Answer:
        plan, command = self._deployment(match[1]), match[2]
        allowed = {
            "start": ("saved",),
            "continue": ("needs_user_intervention",),
            "abort": ("running", "needs_user_intervention"),
        }
        if command not in allowed:
            raise _ApiError(400, f"Invalid command {command!r}: use start, continue or abort.")
        if command == "start" and self._refuse_starts:
            status = self._refuse_starts.pop(0)
            raise _ApiError(status, f"Command start can't be executed for deployment {plan.key}.")
        if plan.status not in allowed[command]:
            raise _ApiError(
                400, f"Cannot {command} deployment {plan.key}: its status is {plan.status}."
            )
        self._apply_command(plan, command)
        return _Answer(202)

    def _apply_command(self, plan: _Deployment, command: str) -> None:
        if command == "abort":
            plan.status, plan.info = "aborted", ""
            self._log(plan, f"Deployment aborted by {SERVICE_ACCOUNT}.")
            return
        if command == "continue" and not plan.steps:
            plan.steps = deque(DEFAULT_CONTINUATION)
        plan.status, plan.info = "running", ""
        verb = "started" if command == "start" else "continued"
        self._log(plan, f"Deployment {verb} by {SERVICE_ACCOUNT}.")

    def _get_status(self, request: _Request, match: re.Match[str]) -> _Answer:
        plan = self._deployment(match[1])
        if plan.status == "running" and plan.steps:
            self._advance(plan, plan.steps.popleft())
        return _Answer(
            200,
            {
                "DeploymentStatus": plan.status,
                "Info": plan.info,
                "DeploymentLog": [
                    {"Instant": _instant(instant), "Message": message}
                    for instant, message in plan.log
                ],
            },
        )

    def _advance(self, plan: _Deployment, step: str) -> None:
        """Move the plan one scripted step, log it, and deploy the versions on success."""
        plan.status = step
        words = {
            "source": self._environments[plan.source_key].name,
            "target": self._environments[plan.target_key].name,
            "operations": ", ".join(self._operation_label(op) for op in plan.operations),
        }
        if step == "running":
            template = _RUNNING_MESSAGES[plan.running_steps % len(_RUNNING_MESSAGES)]
            plan.running_steps += 1
            self._log(plan, template.format(**words))
        elif step == "needs_user_intervention":
            plan.info = "Waiting for user intervention to continue the deployment."
            self._log(plan, f"Waiting for confirmation to continue deploying to {words['target']}.")
        elif step in _SUCCESS:
            self._deploy(plan)
            suffix = " with warnings" if step == "finished_with_warnings" else " successfully"
            self._log(plan, f"Finished deploying {words['operations']}{suffix}.")
        elif step == "finished_with_errors":
            plan.info = "The deployment finished with errors."
            self._log(plan, f"Failed to deploy {words['operations']}: compilation errors.")
        elif step == "aborted":
            self._log(plan, "Deployment aborted.")
        elif step == "force_finished":
            self._log(plan, "The deployment was force finished.")
        else:
            self._log(plan, f"Deployment status changed to {step}.")

    def _deploy(self, plan: _Deployment) -> None:
        for app_key, version_key in plan.operations:
            tagged = self._versions[version_key]
            modules = dict(tagged.module_version_keys)
            self._running[(plan.target_key, app_key)] = _Running(version_key, False, modules)

    def _log(self, plan: _Deployment, message: str) -> None:
        plan.log.append((self._clock(), message))

    # ------------------------------------------------------------------------------ JSON

    def _environment_json(self, env: _Environment) -> JSON:
        slug = re.sub(r"[^a-z0-9]+", "-", env.name.lower()).strip("-")
        return {
            "Key": env.key,
            "Name": env.name,
            "OSVersion": "11.18.1.0",
            "Order": env.order,
            "HostName": f"{slug}.example.com",
            "UseHTTPS": True,
            "EnvironmentType": env.kind,
            "NumberOfFrontEnds": 1,
            "ApplicationServerType": ".NET",
            "ApplicationServer": "IIS",
            "DatabaseProvider": "SqlServer",
            "IsCloudEnvironment": True,
        }

    def _application_json(self, app: _Application, env_keys: list[str], modules: bool) -> JSON:
        statuses = [
            self._status_json(app, env_key, modules)
            for env_key in env_keys
            if (env_key, app.key) in self._running
        ]
        return {
            "Key": app.key,
            "Name": app.name,
            "Kind": "WebResponsive",
            "Team": "",
            "Description": "",
            "URLPath": app.name,
            "IconHash": "",
            "IconURL": "",
            "IsSystem": False,
            "AppStatusInEnvs": statuses,
        }

    def _status_json(self, app: _Application, env_key: str, modules: bool) -> JSON:
        running = self._running[(env_key, app.key)]
        tagged = self._versions[running.version_key]
        status: JSON = {
            "EnvironmentKey": env_key,
            "BaseApplicationVersionKey": running.version_key,
            "IsModified": running.modified,
            "IsModifiedReason": "ModulesModified" if running.modified else "",
            "IsModifiedMessage": (
                f"Modules were published since version {tagged.version}."
                if running.modified
                else ""
            ),
            "ConsistencyStatus": "Consistent",
            "ConsistencyStatusMessages": "",
            "MobileAppsStatus": [],
            "DeploymentZoneKey": "",
        }
        if self.version_labels_in_status:
            status["BaseApplicationVersionLabel"] = tagged.version
        if modules:
            status["ModuleStatusInEnvs"] = [
                {
                    "ApplicationKey": app.key,
                    "EnvironmentKey": env_key,
                    "ModuleVersionKey": module_version_key,
                    "ConsistencyStatus": "Consistent",
                    "ConsistencyStatusMessages": "",
                }
                for module_version_key in running.module_version_keys.values()
            ]
        return status

    def _version_json(self, tagged: _Version, *, modules: bool) -> JSON:
        body: JSON = {
            "Key": tagged.key,
            "ApplicationKey": tagged.application_key,
            "Version": tagged.version,
            "ChangeLog": tagged.change_log,
            "CreatedOn": _instant(tagged.created_on),
            "CreatedBy": tagged.created_by,
            "InUse": True,
            "MobileVersions": [],
            "PrimaryColor": "",
            "NativeHash": "",
        }
        if modules:
            body["ModuleVersions"] = [
                {"Key": version_key, "ModuleKey": module_key}
                for module_key, version_key in tagged.module_version_keys.items()
            ]
        return body

    def _deployment_json(self, plan: _Deployment) -> JSON:
        return {
            "Key": plan.key,
            "SourceEnvironmentKey": plan.source_key,
            "TargetEnvironmentKey": plan.target_key,
            "Notes": plan.notes,
            "CreatedOn": _instant(plan.created_on),
            "CreatedBy": plan.created_by,
            "CreatedByUsername": plan.created_by,
            "SavedOn": _instant(plan.created_on),
            "SavedBy": plan.created_by,
            "SavedByUsername": plan.created_by,
            "ApplicationOperations": [self._operation_json(op) for op in plan.operations],
        }

    def _operation_json(self, operation: tuple[str, str]) -> JSON:
        app_key, version_key = operation
        return {
            "ApplicationKey": app_key,
            "ApplicationVersionKey": version_key,
            "DeploymentOperation": f"Deploy {self._versions[version_key].version}",
            "DeploymentZoneKey": "",
        }

    def _operation_label(self, operation: tuple[str, str]) -> str:
        app_key, version_key = operation
        return f"{self._applications[app_key].name} {self._versions[version_key].version}"


# ---------------------------------------------------------------------------- helpers


def _include_flags(request: _Request) -> tuple[bool, bool]:
    """IncludeEnvStatus / IncludeModules; LifeTime refuses modules without the status."""
    with_status = request.query.get("IncludeEnvStatus", "").lower() == "true"
    with_modules = request.query.get("IncludeModules", "").lower() == "true"
    if with_modules and not with_status:
        raise _ApiError(400, "IncludeModules was requested but IncludeEnvStatus was not.")
    return with_status, with_modules


def _json_body(request: _Request) -> JSON:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise _ApiError(400, "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise _ApiError(400, "The request body must be a JSON object.")
    return body


def _check_version_request(app: _Application, version: str, existing: _Version | None) -> None:
    if not re.fullmatch(r"\d+(\.\d+){0,3}", version):
        raise _ApiError(400, f"Invalid version {version!r}: use numbers like 1.7.1.")
    if existing is not None:
        raise _ApiError(400, f"Version {version} already exists for application {app.name}.")


def _query_bound(value: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    """MinDate/MaxDate: a date, the whole day ("format": "date", "x-example": "2014-12-31")."""
    if not value:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise _ApiError(400, f"Invalid {name} {value!r}: use a date like 2014-12-31.") from exc
    return datetime.combine(day, time.max if end_of_day else time.min, UTC)
