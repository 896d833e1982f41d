"""Reading a catalog file (YAML) into plain specs, naming the line and field of any fault."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from commands.durations import parse_duration
from commands.errors import InvalidInput
from commands.versions import Version

_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


class CatalogError(InvalidInput):
    pass


@dataclass(frozen=True)
class VersionSpec:
    tag: str
    has_changes: bool
    line: int


@dataclass
class ApplicationSpec:
    name: str
    line: int
    modules: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    approvers: list[str] = field(default_factory=list)
    home_channel: str | None = None
    require_approval: bool = True
    versions: dict[str, VersionSpec] = field(default_factory=dict)
    versions_line: int = 0
    remind_open_seconds: int | None = None
    remind_approval_seconds: int | None = None
    remind_propagating_seconds: int | None = None
    escalation_usergroup: str | None = None
    deployer: str = "ledger"
    deployer_settings: dict[str, object] = field(default_factory=dict)


@dataclass
class CatalogSpec:
    source: str
    environments: list[tuple[str, str]] | None = None
    hotfix_environment: str | None = None
    applications: list[ApplicationSpec] = field(default_factory=list)

    def error(self, line: int, where: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.source}:{line}: {where}: {problem}")


def read_catalog(path: Path) -> CatalogSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError(f"cannot read the catalog {path}: {error.strerror}") from error
    return parse_catalog(text, str(path))


def parse_catalog(text: str, source: str = "catalog") -> CatalogSpec:
    spec = CatalogSpec(source=source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CatalogError(f"{source}:{line}: not valid YAML: {error}") from error
    if root is None:
        raise CatalogError(f"{source}:1: the catalog is empty")
    top = _mapping(spec, root, "catalog", {"pipeline", "applications"})
    if "pipeline" in top:
        _read_pipeline(spec, top["pipeline"])
    if "applications" not in top:
        raise spec.error(_line(root), "catalog", "'applications' is missing")
    seen: dict[str, int] = {}
    for index, node in enumerate(_sequence(spec, top["applications"], "applications")):
        application = _read_application(spec, node, f"applications[{index}]")
        key = application.name.casefold()
        if key in seen:
            raise spec.error(
                application.line,
                f"applications[{index}].name",
                f"'{application.name}' is declared twice (first at line {seen[key]})",
            )
        seen[key] = application.line
        spec.applications.append(application)
    return spec


def _read_pipeline(spec: CatalogSpec, node: Node) -> None:
    pipeline = _mapping(spec, node, "pipeline", {"environments", "hotfix_environment"})
    if "environments" in pipeline:
        environments = []
        for index, item in enumerate(
            _sequence(spec, pipeline["environments"], "pipeline.environments")
        ):
            where = f"pipeline.environments[{index}]"
            fields = _mapping(spec, item, where, {"name", "alias"}, required={"name", "alias"})
            name = _text(spec, fields["name"], f"{where}.name", limit=80)
            environments.append((name, _text(spec, fields["alias"], f"{where}.alias", limit=40)))
        if len(environments) < 2:
            raise spec.error(
                _line(pipeline["environments"]),
                "pipeline.environments",
                "a pipeline needs at least two environments, the last one Production",
            )
        spec.environments = environments
    if "hotfix_environment" in pipeline:
        spec.hotfix_environment = _text(
            spec, pipeline["hotfix_environment"], "pipeline.hotfix_environment"
        )


_APP_FIELDS = {
    "deployer",
    "reminders",
    "name",
    "modules",
    "owners",
    "approvers",
    "home_channel",
    "require_approval",
    "versions",
}


def _read_application(spec: CatalogSpec, node: Node, where: str) -> ApplicationSpec:
    fields = _mapping(spec, node, where, _APP_FIELDS, required={"name", "modules", "versions"})
    application = ApplicationSpec(
        name=_text(spec, fields["name"], f"{where}.name", limit=120), line=_line(node)
    )
    application.modules = _names(spec, fields["modules"], f"{where}.modules")
    if not application.modules:
        raise spec.error(_line(fields["modules"]), f"{where}.modules", "list at least one module")
    for role in ("owners", "approvers"):
        if role in fields:
            users = _names(spec, fields[role], f"{where}.{role}")
            for index, user in enumerate(users):
                if not _USER.match(user):
                    raise spec.error(
                        _line(fields[role]),
                        f"{where}.{role}[{index}]",
                        f"'{user}' is not a Slack user id (like U024BE7LH)",
                    )
            setattr(application, role, users)
    if "home_channel" in fields:
        channel = _text(spec, fields["home_channel"], f"{where}.home_channel")
        if not _CHANNEL.match(channel):
            raise spec.error(
                _line(fields["home_channel"]),
                f"{where}.home_channel",
                f"'{channel}' is not a Slack channel id (like C024BE91L)",
            )
        application.home_channel = channel
    if "require_approval" in fields:
        application.require_approval = _boolean(
            spec, fields["require_approval"], f"{where}.require_approval"
        )
    if "deployer" in fields:
        _read_deployer(spec, application, fields["deployer"], f"{where}.deployer")
    if "reminders" in fields:
        _read_reminders(spec, application, fields["reminders"], f"{where}.reminders")
    versions = _mapping(spec, fields["versions"], f"{where}.versions", None)
    application.versions_line = _key_line(node, "versions")
    for environment, value in versions.items():
        field_name = f"{where}.versions.{environment}"
        raw = _text(spec, value, field_name)
        has_changes = raw.endswith("+")
        tag = raw[:-1] if has_changes else raw
        try:
            tag = str(Version.parse(tag))
        except InvalidInput as error:
            raise spec.error(_line(value), field_name, error.message) from error
        application.versions[environment] = VersionSpec(tag, has_changes, _line(value))
    return application


_DEPLOYER_FIELDS = {
    "ledger": ({"kind"}, set()),
    "lifetime": ({"kind", "url"}, {"application", "environments"}),
    "webhook": ({"kind", "url"}, set()),
}


def _read_deployer(spec: CatalogSpec, application: ApplicationSpec, node: Node, where: str) -> None:
    """`deployer: ledger`, or a mapping with `kind` and its settings (never secrets)."""
    if isinstance(node, ScalarNode):
        kind = _text(spec, node, where)
        if kind != "ledger":
            raise spec.error(
                _line(node), where, f"'{kind}' needs settings: give a mapping with kind and url"
            )
        return
    fields = _mapping(spec, node, where, {"kind", "url", "application", "environments"})
    kind = _text(spec, fields.get("kind", node), f"{where}.kind") if "kind" in fields else ""
    if kind not in _DEPLOYER_FIELDS:
        raise spec.error(_line(node), f"{where}.kind", "use ledger, lifetime or webhook")
    required, optional = _DEPLOYER_FIELDS[kind]
    for key in fields:
        if key not in required | optional:
            raise spec.error(_line(fields[key]), f"{where}.{key}", f"not a {kind} setting")
    for key in sorted(required - fields.keys()):
        raise spec.error(_line(node), f"{where}.{key}", "missing")
    settings: dict[str, object] = {}
    if "url" in fields:
        url = _text(spec, fields["url"], f"{where}.url", limit=500)
        if not re.match(r"^https?://\S+$", url):
            raise spec.error(_line(fields["url"]), f"{where}.url", f"'{url}' is not a URL")
        settings["url"] = url
    if "application" in fields:
        settings["application"] = _text(spec, fields["application"], f"{where}.application")
    if "environments" in fields:
        mapping = _mapping(spec, fields["environments"], f"{where}.environments", None)
        settings["environments"] = {
            key: _text(spec, value, f"{where}.environments.{key}") for key, value in mapping.items()
        }
    application.deployer = kind
    application.deployer_settings = settings


_REMINDER_STEPS = {
    "open": "remind_open_seconds",
    "awaiting_approval": "remind_approval_seconds",
    "propagating": "remind_propagating_seconds",
}


def _read_reminders(
    spec: CatalogSpec, application: ApplicationSpec, node: Node, where: str
) -> None:
    fields = _mapping(spec, node, where, {*_REMINDER_STEPS, "escalation_usergroup"})
    for step, attribute in _REMINDER_STEPS.items():
        if step in fields:
            text = _text(spec, fields[step], f"{where}.{step}")
            try:
                every = parse_duration(text, least=timedelta(minutes=1))
            except InvalidInput as error:
                raise spec.error(_line(fields[step]), f"{where}.{step}", error.message) from error
            setattr(application, attribute, int(every.total_seconds()))
    if "escalation_usergroup" in fields:
        group = _text(spec, fields["escalation_usergroup"], f"{where}.escalation_usergroup")
        if not re.match(r"^S[A-Z0-9]{2,30}$", group):
            raise spec.error(
                _line(fields["escalation_usergroup"]),
                f"{where}.escalation_usergroup",
                f"'{group}' is not a Slack user group id (like S0614TZR7)",
            )
        application.escalation_usergroup = group


def _mapping(
    spec: CatalogSpec,
    node: Node,
    where: str,
    allowed: set[str] | None,
    required: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Node]:
    if not isinstance(node, MappingNode):
        raise spec.error(_line(node), where, "expected a mapping of fields")
    fields: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if allowed is not None and key not in allowed:
            raise spec.error(
                _line(key_node),
                f"{where}.{key}",
                f"unknown field; known: {', '.join(sorted(allowed))}",
            )
        if key in fields:
            raise spec.error(_line(key_node), f"{where}.{key}", "given twice")
        fields[key] = value_node
    for key in sorted(required - fields.keys()):
        raise spec.error(_line(node), f"{where}.{key}", "missing")
    return fields


def _sequence(spec: CatalogSpec, node: Node, where: str) -> list[Node]:
    if not isinstance(node, SequenceNode):
        raise spec.error(_line(node), where, "expected a list")
    return list(node.value)


def _text(spec: CatalogSpec, node: Node, where: str, limit: int = 200) -> str:
    if not isinstance(node, ScalarNode) or not str(node.value).strip():
        raise spec.error(_line(node), where, "expected a non-empty value")
    value = str(node.value).strip()
    if len(value) > limit:
        raise spec.error(_line(node), where, f"longer than {limit} characters")
    return value


def _boolean(spec: CatalogSpec, node: Node, where: str) -> bool:
    value = _text(spec, node, where).casefold()
    if value in ("true", "yes", "on"):
        return True
    if value in ("false", "no", "off"):
        return False
    raise spec.error(_line(node), where, "expected true or false")


def _names(spec: CatalogSpec, node: Node, where: str) -> list[str]:
    if isinstance(node, ScalarNode):
        items = [part.strip() for part in str(node.value).split(",") if part.strip()]
        return list(dict.fromkeys(items))
    values = [
        _text(spec, item, f"{where}[{index}]", limit=120)
        for index, item in enumerate(_sequence(spec, node, where))
    ]
    for index, value in enumerate(values):
        if values.index(value) != index:
            raise spec.error(_line(node), f"{where}[{index}]", f"'{value}' is listed twice")
    return values


def _key_line(node: Node, key: str) -> int:
    for key_node, _ in node.value:
        if key_node.value == key:
            return _line(key_node)
    return _line(node)


def _line(node: Node) -> int:
    return node.start_mark.line + 1
