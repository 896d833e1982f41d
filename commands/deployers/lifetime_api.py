"""A client for the OutSystems LifeTime Deployment API v2 (``/lifetimeapi/rest/v2``).

It reads which version each environment runs, tags versions, and creates, starts, continues and
aborts deployment plans. It knows nothing of Slack, hotfixes or the database: the deployer adapter
maps its typed results and errors onto the hotfix lifecycle.

Retries are decided per kind of call, because LifeTime's POSTs are not all alike:

* reads (GET) are retried on connection and read errors and on 500/502/503/504;
* commands (``start``, ``continue``, ``abort``) are retried on connection and read errors and
  on 502/503/504: LifeTime refuses a command that is not valid in the plan's state instead of
  running it twice, so a retry cannot deploy twice (a retry whose first attempt did go through is
  refused, and the refusal says so);
* creations (a version, a deployment plan) are retried only when the connection could not be
  opened, since a lost answer may hide a version or a plan that LifeTime did create.

``Retry-After`` is honoured (capped at 30 s, so a chat command is not held for minutes), and every
request carries a (connect, read) timeout.

Facts this client depends on come from LifeTime's published API definition (the swagger
``src/ref/apis/auto/resources/lifetime-api.json`` in the public OutSystems/docs-product
repository, cited below as "swagger") and from OutSystems' own client of the same API (the
OutSystems/outsystems-pipeline package, ``outsystems/lifetime/``, cited as "pipeline").
"""

from __future__ import annotations

import difflib
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

API_PATH = "/lifetimeapi/rest/v2"
RETRY_AFTER_CAP_SECONDS = 30
CONNECT_TIMEOUT_CAP_SECONDS = 3.05
_STATUS_SNIPPET = 200

# Deployment statuses, in LifeTime's words (swagger: DeploymentMessageListTextTextRecord).
SAVED = "saved"
RUNNING = "running"
NEEDS_USER_INTERVENTION = "needs_user_intervention"
ABORTED = "aborted"
FINISHED_SUCCESSFUL = "finished_successful"
FINISHED_WITH_WARNINGS = "finished_with_warnings"
FINISHED_WITH_ERRORS = "finished_with_errors"
# "The staging was forcefully finished" (swagger): over, but whether the target now runs the
# version is not said; the deployer asks what the target runs.
FORCE_FINISHED = "force_finished"
SUCCESSFUL_STATUSES = frozenset({FINISHED_SUCCESSFUL, FINISHED_WITH_WARNINGS})
TERMINAL_STATUSES = SUCCESSFUL_STATUSES | {FINISHED_WITH_ERRORS, ABORTED, FORCE_FINISHED}
# Where the base URL really lives: each application's catalog entry (there is no URL setting).
URL_SETTING = "the catalog's `deployer.url` of the application"
VERSION_READY_TIMEOUT_SECONDS = 30.0
VERSION_READY_INTERVAL_SECONDS = 0.5


# ---------------------------------------------------------------------------------- errors


class LifeTimeError(Exception):
    """Anything that went wrong talking to LifeTime; ``message`` is meant for a person."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url


class LifeTimeUnauthorized(LifeTimeError):
    """LifeTime refused the service account token (401): a person must renew it."""


class LifeTimeUnavailable(LifeTimeError):
    """LifeTime did not answer usefully (5xx after retries, timeout, no connection): try later."""


class LifeTimeRefused(LifeTimeError):
    """LifeTime understood the request and said no (400/403/404/409); retrying will not help."""


class LifeTimeNotReady(LifeTimeUnavailable):
    """A newly tagged version is not usable yet (LifeTime still processes it): try later."""


# ---------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LtEnvironment:
    """An environment registered in LifeTime; ``kind`` is its EnvironmentType (Production...)."""

    key: str
    name: str
    order: int
    kind: str


@dataclass(frozen=True)
class LtApplication:
    key: str
    name: str


@dataclass(frozen=True)
class AppStatus:
    """What one environment runs of one application (AppStatusInEnv), read one at a time or
    from the all-applications listing.

    ``version`` is None when the running code was never tagged (or the application is not
    there); the listing gives BaseApplicationVersionLabel (swagger: "If app is not modified in
    environment, this is the application version deployed"). ``is_modified`` is IsModified:
    modules changed since ``version`` was tagged, which the bot shows as ``1.7.0+``.
    ``module_version_keys`` are the ModuleVersionKey of each ModuleStatusInEnvs entry, what
    LifeTime checks when tagging. ``application_name`` comes only with the listing.
    """

    application_key: str
    environment_key: str
    version: str | None
    version_key: str | None
    is_modified: bool
    module_version_keys: tuple[str, ...]
    application_name: str = ""

    @property
    def label(self) -> str:
        """The version as people read it: ``1.7.0``, ``1.7.0+`` when modified, ``untagged``."""
        if self.version is None:
            return "untagged"
        return f"{self.version}+" if self.is_modified else self.version


@dataclass(frozen=True)
class DeploymentPlan:
    """A deployment plan; ``operations`` are (application key, application version key) pairs."""

    key: str
    source_environment_key: str
    target_environment_key: str
    operations: tuple[tuple[str, str], ...]
    created_on: datetime
    notes: str


@dataclass(frozen=True)
class LogLine:
    instant: datetime
    message: str


@dataclass(frozen=True)
class DeploymentStatus:
    """Where a deployment stands, with its log so far (oldest first)."""

    status: str
    info: str
    log: tuple[LogLine, ...]

    @property
    def is_terminal(self) -> bool:
        """The deployment is over (finished or aborted). ``needs_user_intervention`` is not:
        it waits for ``continue`` or ``abort``, so a poller stops on ``needs_intervention`` too."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        """Finished, with or without warnings: the target now runs the deployed version."""
        return self.status in SUCCESSFUL_STATUSES

    @property
    def needs_intervention(self) -> bool:
        return self.status == NEEDS_USER_INTERVENTION


# ---------------------------------------------------------------------------------- client


class _Kind(Enum):
    """How safe a call is to repeat; each kind gets its own retry policy (see module docstring)."""

    READ = "read"
    COMMAND = "command"
    CREATE = "create"


class LifeTimeClient:
    """LifeTime Deployment API v2 over HTTPS with a service account token.

    ``base_url`` is ``https://<lifetime host>/lifetimeapi/rest/v2`` (a bare host gets the API path
    appended). ``timeout`` is the read timeout in seconds (connect: at most 3.05 s); ``retries``
    and ``backoff`` feed urllib3's Retry. Connections are pooled: call :meth:`close` (or use it
    as a context manager) when done.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = _api_base(base_url)
        self._timeout = (min(timeout, CONNECT_TIMEOUT_CAP_SECONDS), timeout)
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": "hotfix-bot",
        }
        self._sessions = {
            kind: _session(_retry_policy(kind, retries, backoff), headers) for kind in _Kind
        }

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ environments & applications

    def environments(self) -> list[LtEnvironment]:
        """Every environment, in pipeline order (LifeTime's Order)."""
        found = _items(self._get("/environments/", "list the environments"), "environments")
        return sorted((_environment(item) for item in found), key=lambda env: env.order)

    def environment_by_name(self, name: str) -> LtEnvironment:
        """The environment called ``name`` (case-insensitive), or an error listing the real ones."""
        environments = self.environments()
        match = _by_name(environments, name)
        if match is None:
            known = ", ".join(env.name for env in environments) or "none"
            raise LifeTimeError(
                f"LifeTime has no environment named {name!r}; it has: {known}. "
                "Use one of these names (in the catalog or the command)."
            )
        return match

    def applications(self) -> list[LtApplication]:
        """Every application LifeTime knows, by name."""
        found = _items(self._get("/applications/", "list the applications"), "applications")
        return sorted((_application(item) for item in found), key=lambda app: app.name.lower())

    def application_by_name(self, name: str) -> LtApplication:
        """The application called ``name`` (case-insensitive), or an error suggesting close ones."""
        applications = self.applications()
        match = _by_name(applications, name)
        if match is None:
            raise LifeTimeError(_unknown_application(name, [app.name for app in applications]))
        return match

    def application_in_environment(self, env_key: str, app_key: str) -> AppStatus:
        """What ``env_key`` runs of ``app_key``: tagged version number, IsModified, module keys."""
        path = f"/environments/{_k(env_key)}/applications/{_k(app_key)}/"
        params = {"IncludeEnvStatus": "true", "IncludeModules": "true"}
        body = _object(self._get(path, "read the application's status", params), "application")
        status = _status_in(body, env_key)
        if status is None:
            return AppStatus(app_key, env_key, None, None, False, ())
        version_key = _optional_text(status, "BaseApplicationVersionKey")
        return AppStatus(
            application_key=app_key,
            environment_key=env_key,
            version=self._version_number(app_key, version_key) if version_key else None,
            version_key=version_key,
            is_modified=bool(status.get("IsModified")),
            module_version_keys=_module_version_keys(status),
        )

    def application_statuses(self) -> list[AppStatus]:
        """Every application's status in every environment, in ONE request.

        ``GET /applications/?IncludeEnvStatus=true&IncludeModules=true`` (swagger:
        Applications_List; "A list of Application records including AppStatusInEnv sub-lists";
        IncludeModules needs IncludeEnvStatus, else 400). A LifeTime that leaves out
        BaseApplicationVersionLabel costs one version read per distinct version key.
        """
        params = {"IncludeEnvStatus": "true", "IncludeModules": "true"}
        found = _items(self._get("/applications/", "list the applications", params), "apps")
        numbers: dict[str, str] = {}
        statuses: list[AppStatus] = []
        for item in found:
            app = _object(item, "application")
            app_key, app_name = _text(app, "Key"), _text(app, "Name")
            for entry in _items(app.get("AppStatusInEnvs"), "AppStatusInEnvs"):
                status = _object(entry, "AppStatusInEnvs")
                version_key = _optional_text(status, "BaseApplicationVersionKey")
                version = _optional_text(status, "BaseApplicationVersionLabel")
                if version is None and version_key:
                    if version_key not in numbers:
                        numbers[version_key] = self._version_number(app_key, version_key)
                    version = numbers[version_key]
                statuses.append(
                    AppStatus(
                        application_key=app_key,
                        environment_key=_text(status, "EnvironmentKey"),
                        version=version,
                        version_key=version_key,
                        is_modified=bool(status.get("IsModified")),
                        module_version_keys=_module_version_keys(status),
                        application_name=app_name,
                    )
                )
        return statuses

    def version_modules(self, app_key: str, version_key: str) -> dict[str, str]:
        """Module key -> module version key of a tagged application version (swagger:
        ApplicationVersion_v2.ModuleVersions, each a ModuleVersion_v2 with Key and ModuleKey)."""
        path = f"/applications/{_k(app_key)}/versions/{_k(version_key)}/"
        answer = self._get(path, "read the application version", {"IncludeModules": "true"})
        body = _object(answer, "application version")
        modules = [_object(m, "ModuleVersions") for m in _items(body.get("ModuleVersions"), "m")]
        return {_text(module, "ModuleKey"): _text(module, "Key") for module in modules}

    def module_name(self, module_key: str) -> str:
        """A module's Name (swagger: GET /modules/{ModuleKey}/, a Module record)."""
        answer = self._get(f"/modules/{_k(module_key)}/", "read the module")
        return _text(_object(answer, "module"), "Name")

    def _version_number(self, app_key: str, version_key: str) -> str:
        return _text(self._application_version(app_key, version_key), "Version")

    def _application_version(self, app_key: str, version_key: str) -> dict[str, Any]:
        # IncludeModules is a required query parameter of this call (swagger:
        # GET /applications/{ApplicationKey}/versions/{VersionKey}/).
        path = f"/applications/{_k(app_key)}/versions/{_k(version_key)}/"
        params = {"IncludeModules": "false"}
        answer = self._get(path, "read the application version", params)
        return _object(answer, "application version")

    def wait_until_usable(
        self,
        app_key: str,
        version_key: str,
        *,
        timeout: float = VERSION_READY_TIMEOUT_SECONDS,
        interval: float = VERSION_READY_INTERVAL_SECONDS,
    ) -> None:
        """Wait, at most ``timeout`` seconds, until LifeTime serves a newly tagged version.

        "The new version will require some processing time before it becomes available for use"
        (swagger: POST /environments/{EnvironmentKey}/applications/{ApplicationKey}/versions/).
        Until then LifeTime does not find it (404); past the bound, LifeTimeNotReady says to
        try again later (the tag is kept and reused).
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._application_version(app_key, version_key)
                return
            except LifeTimeRefused as error:
                if error.status != 404:
                    raise
                if time.monotonic() + interval > deadline:
                    raise LifeTimeNotReady(
                        f"LifeTime is still processing the new version ({version_key}) after "
                        f"{timeout:g}s; the deployment will be tried again shortly.",
                        status=error.status,
                        url=error.url,
                    ) from error
                time.sleep(interval)

    # ---------------------------------------------------------------------------- versions

    def create_version(
        self,
        env_key: str,
        app_key: str,
        version: str,
        change_log: str,
        module_version_keys: Sequence[str],
    ) -> str:
        """Tag what ``env_key`` runs of ``app_key`` as ``version``; return the version key.

        ``module_version_keys`` (from :meth:`application_in_environment`) make LifeTime refuse the
        tag if someone published in between, so the tag is exactly what was approved.
        """
        path = f"/environments/{_k(env_key)}/applications/{_k(app_key)}/versions/"
        payload = {
            "ChangeLog": change_log,
            "Version": version,
            "MobileVersions": [],
            "ModuleVersionKeys": list(module_version_keys),
        }
        answer = self._post(path, _Kind.CREATE, f"tag version {version}", payload)
        return _text(_object(answer, "new version"), "ApplicationVersionKey")

    # ------------------------------------------------------------------------- deployments

    def create_deployment(
        self, source_env_key: str, target_env_key: str, app_version_key: str, notes: str
    ) -> str:
        """Save a deployment plan of one application version; return the plan's key.

        LifeTime answers the bare key as ``text/plain``, not JSON (swagger: POST /deployments/
        produces text/plain; the pipeline's ``send_post_request`` works around the same). A JSON
        string is accepted too.
        """
        payload = {
            "Notes": notes,
            "SourceEnvironmentKey": source_env_key,
            "TargetEnvironmentKey": target_env_key,
            "ApplicationOperations": [
                {"ApplicationVersionKey": app_version_key, "DeploymentZoneKey": ""}
            ],
        }
        answer = self._send(
            "POST",
            "/deployments/",
            _Kind.CREATE,
            "create the deployment plan",
            payload=payload,
            plain_text=True,
        )
        if not isinstance(answer, str) or not answer.strip():
            raise _unexpected("the new deployment key", answer)
        return answer.strip()

    def delete_deployment(self, key: str) -> None:
        """Discard a plan; LifeTime deletes only plans still ``saved`` (swagger: DELETE
        /deployments/{DeploymentKey}/ answers 204, or 400 when it cannot be deleted)."""
        self._send("DELETE", f"/deployments/{_k(key)}/", _Kind.COMMAND, f"delete plan {key}")

    def deployment(self, key: str) -> tuple[DeploymentPlan, list[str]]:
        """The plan and its conflicts, each as a sentence; an empty list means it can start."""
        answer = self._get(f"/deployments/{_k(key)}/", "read the deployment plan")
        body = _object(answer, "deployment")
        plan = _plan(_object(body.get("Deployment"), "Deployment"))
        found = _items(body.get("ApplicationConflicts"), "ApplicationConflicts")
        conflicts = [_conflict_text(conflict) for conflict in found]
        return plan, conflicts

    def deployments(
        self, since: datetime, *, target_environment_key: str | None = None
    ) -> list[DeploymentPlan]:
        """Plans created at or after ``since`` (aware datetime), newest first.

        MinDate/MaxDate are dates, ``2014-12-31`` (swagger: GET /deployments/, format date), so
        the query spans whole UTC days (up to tomorrow, so that today's plans are in) and the
        exact cut is made here.
        """
        if since.tzinfo is None:
            raise ValueError("deployments(since=...) needs an aware datetime (UTC)")
        params = {
            "MinDate": _query_date(since),
            "MaxDate": _query_date(datetime.now(UTC) + timedelta(days=1)),
        }
        if target_environment_key:
            params["TargetEnvironmentKey"] = target_environment_key
        found = _items(self._get("/deployments/", "list the deployments", params), "deployments")
        plans = [_plan(_object(item, "deployment")) for item in found]
        recent = [plan for plan in plans if plan.created_on >= since]
        return sorted(recent, key=lambda plan: plan.created_on, reverse=True)

    def start(self, key: str) -> None:
        """Start a saved plan. Follow it with :meth:`status`."""
        self._command(key, "start")

    def continue_(self, key: str) -> None:
        """Resume a deployment that waits in ``needs_user_intervention``."""
        self._command(key, "continue")

    def abort(self, key: str) -> None:
        self._command(key, "abort")

    def status(self, key: str) -> DeploymentStatus:
        answer = self._get(f"/deployments/{_k(key)}/status/", "read the deployment status")
        return _deployment_status(_object(answer, "deployment status"))

    def _command(self, key: str, command: str) -> None:
        path = f"/deployments/{_k(key)}/{command}/"
        self._post(path, _Kind.COMMAND, f"{command} deployment {key}", None)

    # ------------------------------------------------------------------------------ HTTP

    def _get(self, path: str, action: str, params: Mapping[str, str] | None = None) -> Any:
        return self._send("GET", path, _Kind.READ, action, params=params)

    def _post(self, path: str, kind: _Kind, action: str, payload: Any) -> Any:
        return self._send("POST", path, kind, action, payload=payload)

    def _send(
        self,
        method: str,
        path: str,
        kind: _Kind,
        action: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Any = None,
        plain_text: bool = False,
    ) -> Any:
        """One API call: the JSON answer (None when empty), or a typed LifeTimeError.

        ``plain_text``: the call produces text/plain; its body is returned as text (a JSON
        string body is decoded)."""
        url = f"{self.base_url}{path}"
        session = self._sessions[kind]
        try:
            # No redirects: requests would turn a redirected POST into a GET, silently.
            response = session.request(
                method,
                url,
                params=params,
                json=payload,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise _network_error(exc, url, self._timeout[1]) from exc
        logger.debug("LifeTime %s %s -> %s", method, path, response.status_code)
        if response.status_code >= 300:
            raise _http_error(response, url, action, retried=_may_have_landed_before(response))
        if plain_text:
            return _plain_text(response)
        return _json(response, url)


# ---------------------------------------------------------------------- HTTP plumbing


def _api_base(base_url: str) -> str:
    """Normalise the base URL: no trailing slash, and the API path when given a bare host."""
    trimmed = base_url.rstrip("/")
    if urlsplit(trimmed).path in {"", "/"}:
        return f"{trimmed}{API_PATH}"
    return trimmed


def _retry_policy(kind: _Kind, retries: int, backoff: float) -> Retry:
    """urllib3 retries for one kind of call (see the module docstring for the reasons)."""
    read: int | bool = retries
    if kind is _Kind.READ:
        methods, statuses = frozenset({"GET"}), frozenset({500, 502, 503, 504})
    elif kind is _Kind.COMMAND:
        methods, statuses = frozenset({"POST"}), frozenset({502, 503, 504})
    else:
        # POST is not in allowed_methods, so it is never resent once it may have reached
        # LifeTime (no status or read retries); connection errors (nothing sent) still are.
        methods, statuses, read = frozenset({"GET"}), frozenset(), False
    return Retry(
        total=retries,
        connect=retries,
        read=read,
        status=retries,
        other=0,
        allowed_methods=methods,
        status_forcelist=statuses,
        backoff_factor=backoff,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_CAP_SECONDS,
        raise_on_status=False,
    )


def _session(retry: Retry, headers: Mapping[str, str]) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update(headers)
    return session


def _may_have_landed_before(response: requests.Response) -> bool:
    """Whether an earlier attempt of this request may have reached LifeTime and been applied.

    urllib3 keeps the retry history on the response: an attempt that got an answer (a 5xx) or
    lost it (read error) may have been applied; one that could not connect was never sent.
    """
    retries = getattr(response.raw, "retries", None)
    for attempt in getattr(retries, "history", ()):
        if attempt.status is not None or not isinstance(attempt.error, ConnectTimeoutError):
            return True
    return False


def _k(key: str) -> str:
    """A key as one path segment: keys come from chat input too, and must not add segments."""
    return quote(key, safe="")


def _network_error(exc: requests.RequestException, url: str, timeout: float) -> LifeTimeError:
    if _is_read_timeout(exc):
        return LifeTimeUnavailable(
            f"LifeTime did not answer {url} within {timeout:g}s; it will be retried. "
            "If this keeps happening, LifeTime is overloaded or down.",
            url=url,
        )
    return LifeTimeUnavailable(
        f"Could not reach LifeTime at {url} ({_network_reason(exc)}); it will be retried. "
        f"If this keeps happening, check {URL_SETTING} and that LifeTime is up.",
        url=url,
    )


def _is_read_timeout(exc: requests.RequestException) -> bool:
    """A read timeout, raised as-is or (once retries are spent) wrapped in MaxRetryError."""
    if isinstance(exc, requests.ReadTimeout):
        return True
    wrapped = exc.args[0] if exc.args else None
    return isinstance(getattr(wrapped, "reason", None), ReadTimeoutError)


def _network_reason(exc: BaseException) -> str:
    """The innermost useful cause ("[Errno 111] Connection refused"), not urllib3's whole chain."""
    cause: object = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", cause)
    return str(cause).rsplit(": ", 1)[-1] or type(exc).__name__


def _http_error(
    response: requests.Response, url: str, action: str, *, retried: bool
) -> LifeTimeError:
    status = response.status_code
    detail = _error_detail(response)
    if status == 401:
        return LifeTimeUnauthorized(
            f"LifeTime refused the service account token (401 at {url}): it is missing, expired "
            "or revoked. Create a new token for the service account in LifeTime (User Management "
            "> Service Accounts) and set LIFETIME_TOKEN.",
            status=status,
            url=url,
        )
    if status == 403:
        return LifeTimeRefused(
            f"The LifeTime service account is not allowed to {action} (403): {detail}. "
            "Give its role the needed permission in LifeTime.",
            status=status,
            url=url,
        )
    if status in {400, 404, 409}:
        return LifeTimeRefused(_refusal(action, status, detail, retried), status=status, url=url)
    if status == 429 or status >= 500:
        return LifeTimeUnavailable(
            f"LifeTime could not {action}: {url} answered {status} ({detail.rstrip('.')}); "
            "it will be retried.",
            status=status,
            url=url,
        )
    if 300 <= status < 400:
        return LifeTimeError(
            f"LifeTime redirected {url} to {response.headers.get('Location', '?')}; "
            f"set {URL_SETTING} to the address LifeTime redirects to (usually https://...).",
            status=status,
            url=url,
        )
    return LifeTimeError(
        f"LifeTime answered {status} when asked to {action} ({url}): {detail}",
        status=status,
        url=url,
    )


def _refusal(action: str, status: int, detail: str, retried: bool) -> str:
    message = f"LifeTime refused to {action} ({status}): {detail}"
    if retried:
        message += (
            " The request was retried after a failed attempt, which may have gone through: "
            "check the deployment in LifeTime before trying again."
        )
    return message


def _error_detail(response: requests.Response) -> str:
    """LifeTime's own words: its Exception body is ``{"Errors": [...], "StatusCode": n}``."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:_STATUS_SNIPPET] if text else response.reason or "no details"
    if isinstance(body, dict):
        errors = body.get("Errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(error) for error in errors)
        for key in ("Message", "message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    if isinstance(body, str) and body:
        return body
    return json.dumps(body)[:_STATUS_SNIPPET]


def _json(response: requests.Response, url: str) -> Any:
    """The decoded answer; None for LifeTime's 204 ("nothing to list") and empty 202s."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        snippet = response.text.strip()[:80]
        raise LifeTimeError(
            f"LifeTime's answer at {url} is not JSON ({snippet!r}); check that {URL_SETTING} "
            f"points at the LifeTime API (https://<lifetime host>{API_PATH}).",
            status=response.status_code,
            url=url,
        ) from exc


# ----------------------------------------------------------------------------- parsing


def _unexpected(what: str, value: object) -> LifeTimeError:
    shown = json.dumps(value)[:80] if value is not None else "nothing"
    return LifeTimeError(
        f"LifeTime answered something unexpected for {what} ({shown}); "
        f"is {URL_SETTING} the LifeTime Deployment API v2?"
    )


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _unexpected(what, value)
    return value


def _items(value: object, what: str) -> list[Any]:
    """A JSON list; None (LifeTime's 204 or an absent field) is an empty one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _unexpected(what, value)
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _unexpected(key, value)
    return value


def _optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def _instant(value: object, what: str) -> datetime:
    """LifeTime's date-times ("2018-10-10T15:36:11.797Z"); naive ones are UTC."""
    if not isinstance(value, str):
        raise _unexpected(what, value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _unexpected(what, value) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _query_date(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _plain_text(response: requests.Response) -> Any:
    """A text/plain body as text; JSON (a string ``"abc"``, or anything else) is decoded."""
    text = response.text.strip()
    if not text:
        return None
    if text[0] in '"{[':
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _environment(item: object) -> LtEnvironment:
    body = _object(item, "environment")
    order = body.get("Order")
    return LtEnvironment(
        key=_text(body, "Key"),
        name=_text(body, "Name"),
        order=order if isinstance(order, int) else 0,
        kind=_optional_text(body, "EnvironmentType") or "",
    )


def _application(item: object) -> LtApplication:
    body = _object(item, "application")
    return LtApplication(key=_text(body, "Key"), name=_text(body, "Name"))


def _module_version_keys(status: Mapping[str, Any]) -> tuple[str, ...]:
    """The ModuleVersionKey of each ModuleStatusInEnvs entry of one AppStatusInEnv."""
    modules = _items(status.get("ModuleStatusInEnvs"), "ModuleStatusInEnvs")
    return tuple(
        _text(_object(module, "ModuleStatusInEnvs"), "ModuleVersionKey") for module in modules
    )


def _status_in(application: Mapping[str, Any], env_key: str) -> dict[str, Any] | None:
    """The AppStatusInEnvs entry of ``env_key``; None when the application is not there."""
    for entry in _items(application.get("AppStatusInEnvs"), "AppStatusInEnvs"):
        status = _object(entry, "AppStatusInEnvs")
        if status.get("EnvironmentKey") == env_key:
            return status
    return None


def _plan(body: Mapping[str, Any]) -> DeploymentPlan:
    found = _items(body.get("ApplicationOperations"), "ApplicationOperations")
    operations = [_object(op, "ApplicationOperations") for op in found]
    return DeploymentPlan(
        key=_text(body, "Key"),
        source_environment_key=_text(body, "SourceEnvironmentKey"),
        target_environment_key=_text(body, "TargetEnvironmentKey"),
        operations=tuple(
            (_text(op, "ApplicationKey"), _text(op, "ApplicationVersionKey")) for op in operations
        ),
        created_on=_instant(body.get("CreatedOn"), "CreatedOn"),
        notes=str(body.get("Notes") or ""),
    )


def _deployment_status(body: Mapping[str, Any]) -> DeploymentStatus:
    found = _items(body.get("DeploymentLog"), "DeploymentLog")
    lines = [_object(line, "DeploymentLog") for line in found]
    return DeploymentStatus(
        status=_text(body, "DeploymentStatus"),
        info=str(body.get("Info") or ""),
        log=tuple(
            LogLine(_instant(line.get("Instant"), "Instant"), str(line.get("Message") or ""))
            for line in lines
        ),
    )


def _conflict_text(conflict: object) -> str:
    """One conflict as a sentence, from whatever LifeTime put in it (Message first)."""
    if isinstance(conflict, str):
        return conflict
    if not isinstance(conflict, dict):
        return json.dumps(conflict)
    message = str(conflict.get("Message") or "").strip()
    module = conflict.get("ModuleConflict")
    kind = str(module.get("ConflictType") or "") if isinstance(module, dict) else ""
    if message:
        return f"{message} ({kind})" if kind and kind not in message else message
    consumer = _operation_label(conflict.get("ConsumerApplicationOperation"))
    producer = _operation_label(conflict.get("ProducerApplicationOperation"))
    if consumer or producer:
        consumer, producer = consumer or "an application", producer or "another application"
        return f"{kind or 'Conflict'}: {consumer} depends on {producer}"
    return kind or json.dumps(conflict, sort_keys=True)


def _operation_label(operation: object) -> str:
    if not isinstance(operation, dict):
        return ""
    return str(operation.get("DeploymentOperation") or operation.get("ApplicationKey") or "")


# ------------------------------------------------------------------------------- names


_Named = TypeVar("_Named", LtEnvironment, LtApplication)


def _by_name(items: Iterable[_Named], name: str) -> _Named | None:
    wanted = name.strip().casefold()
    return next((item for item in items if item.name.casefold() == wanted), None)


def _unknown_application(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f"LifeTime has no application named {name!r}; did you mean {', '.join(close)}?"
    return (
        f"LifeTime has no application named {name!r} among the {len(known)} the service "
        "account can see; check the name, or give the service account access to it in LifeTime."
    )
