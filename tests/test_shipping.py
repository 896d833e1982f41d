"""The shipping files (Dockerfile, compose.yaml, deploy/kubernetes) are valid and say what the
README promises. No container daemon or cluster exists here, so each file is checked offline
against its format's own published definition: hadolint for the Dockerfile, the Kubernetes
OpenAPI schemas that kubernetes-validate ships, and the Compose Specification's JSON schema
(vendored in deploy/compose-spec with its source). scripts/check-image-recipe.sh, run by CI,
proves the image's install steps in a clean virtual environment.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
BIN = Path(sys.executable).parent
NON_ROOT_UID = 10001


# --- Dockerfile ---------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dockerfile_passes_hadolint() -> None:
    result = hadolint(ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # "Using latest is prone to errors"


def test_dockerfile_builds_in_a_builder_and_runs_slim_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage: build tools stay in the builder"
    bases = [arguments.split()[0] for (_, arguments) in (stage[0] for stage in stages)]
    assert all(base.startswith("python:") and "-slim" in base for base in bases), bases
    builder, final = stages[0], stages[-1]
    assert any(
        name == "RUN" and "scripts/install-runtime.sh" in arguments for name, arguments in builder
    )
    # The final stage installs nothing: it copies the builder's virtual environment.
    final_runs = [arguments for name, arguments in final if name == "RUN"]
    assert not any("pip" in run or "apt-get" in run for run in final_runs), final_runs
    assert any(name == "COPY" and "--from=builder" in arguments for name, arguments in final)
    users = [arguments for name, arguments in final if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert users[-1].split(":")[0] == str(NON_ROOT_UID)


def test_dockerfile_health_check_and_entrypoint() -> None:
    final = dict(dockerfile_stages()[-1])
    assert "/opt/hotfix-bot/healthcheck.py" in final["HEALTHCHECK"]
    assert json.loads(final["ENTRYPOINT"]) == ["hotfix-bot"]
    assert json.loads(final["CMD"]) == ["serve"]
    assert "3000" in final["EXPOSE"].split()


def test_build_context_holds_every_package_and_the_lock() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[[line.startswith("#") for line in lines].index(False)] == "*", "allow-list"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    assert {package.rstrip("*") for package in packages} <= allowed
    assert {"pyproject.toml", "README.md", "requirements.lock"} <= allowed
    assert {"scripts/install-runtime.sh", "scripts/healthcheck.py"} <= allowed
    assert all((ROOT / path).exists() for path in allowed), allowed


# --- the image's health probe --------------------------------------------------------------


@pytest.fixture
def health_server() -> Iterator[tuple[int, dict[str, int]]]:
    """A loopback HTTP server whose /healthz answers the status in the returned dict."""
    answer = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answer["status"] if self.path == "/healthz" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], answer
    server.shutdown()
    server.server_close()


def probe(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORT": str(port), "HTTP_PROXY": "http://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "healthcheck.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_health_probe_passes_on_200_and_fails_otherwise(
    health_server: tuple[int, dict[str, int]],
) -> None:
    port, answer = health_server
    assert probe(port).returncode == 0
    answer["status"] = 503
    failed = probe(port)
    assert failed.returncode == 1
    assert "503" in failed.stderr


def test_health_probe_fails_when_nothing_listens() -> None:
    closed = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    free_port = closed.server_address[1]
    closed.server_close()
    result = probe(free_port)
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


# --- compose.yaml ------------------------------------------------------------------------


def compose_schema_errors(document: Any) -> list[str]:
    schema = json.loads((ROOT / "deploy" / "compose-spec" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [error.message for error in validator.iter_errors(document)]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return document


def test_compose_file_follows_the_compose_specification() -> None:
    assert compose_schema_errors(compose()) == []


def test_the_compose_schema_rejects_a_wrong_compose_file() -> None:
    document = compose()
    document["services"]["bot"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert len(compose_schema_errors(document)) == 1
    document = compose()
    document["services"]["db"]["restart_when"] = "always"  # not a Compose service key
    assert len(compose_schema_errors(document)) == 1


def test_compose_starts_the_bot_after_a_healthy_database_and_the_upgrade() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "bot"}
    db, migrate, bot = services["db"], services["migrate"], services["bot"]
    assert "healthcheck" in db
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"], "the database lives on a named volume"
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["command"] == ["serve"]
    assert bot["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    for service in (migrate, bot):
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@db:5432/" in service["environment"]["DATABASE_URL"]


# --- deploy/kubernetes -------------------------------------------------------------------


def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every Kubernetes resource in deploy/kubernetes by (kind, name), the kustomization aside."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            found[document["kind"], document["metadata"]["name"]] = document
    return found


BOT = "hotfix-bot"
DEPLOYMENT = ("Deployment", BOT)
SETTINGS = ("ConfigMap", BOT)
CATALOG = ("ConfigMap", "hotfix-bot-catalog")
UPGRADE_JOB = ("Job", "hotfix-bot-db-upgrade")
CATALOG_JOB = ("Job", "hotfix-bot-catalog-load")


def test_manifests_validate_against_the_kubernetes_schemas() -> None:
    resources = manifests()
    assert set(resources) == {
        DEPLOYMENT,
        SETTINGS,
        CATALOG,
        UPGRADE_JOB,
        CATALOG_JOB,
        ("Secret", BOT),
        ("PodDisruptionBudget", BOT),
        ("Service", BOT),
    }
    for resource in resources.values():
        kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)


def test_the_kubernetes_schemas_reject_a_wrong_manifest() -> None:
    deployment = manifests()[DEPLOYMENT]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_lists_every_manifest_but_the_jobs() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == {name for name in present if not name.startswith("job-")}


def pod_checks(spec: dict[str, Any]) -> dict[str, Any]:
    """The one container of a pod spec, after checking it runs as the image's non-root user."""
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == NON_ROOT_UID
    (container,) = spec["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env_sources = {
        next(iter(source)): next(iter(source.values()))["name"] for source in container["envFrom"]
    }
    assert env_sources == {"configMapRef": "hotfix-bot", "secretRef": "hotfix-bot"}
    return dict(container)


def test_deployment_runs_two_probed_non_root_replicas() -> None:
    resources = manifests()
    deployment = resources[DEPLOYMENT]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]
    container = pod_checks(pod["spec"])
    assert container["args"] == ["serve"]
    (port,) = container["ports"]
    assert port["containerPort"] == int(resources[SETTINGS]["data"]["PORT"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    labels = pod["metadata"]["labels"]
    for selector in (
        deployment["spec"]["selector"]["matchLabels"],
        resources["PodDisruptionBudget", BOT]["spec"]["selector"]["matchLabels"],
        resources["Service", BOT]["spec"]["selector"],
    ):
        assert selector.items() <= labels.items()
    assert resources["PodDisruptionBudget", BOT]["spec"]["minAvailable"] == 1
    assert resources["Service", BOT]["spec"]["ports"][0]["targetPort"] == port["name"]


def test_jobs_run_the_cli_with_the_bots_image_and_settings() -> None:
    resources = manifests()
    bot = resources[DEPLOYMENT]["spec"]["template"]["spec"]["containers"][0]
    upgrade = resources[UPGRADE_JOB]["spec"]["template"]["spec"]
    container = pod_checks(upgrade)
    assert container["args"] == ["db", "upgrade"]
    assert container["image"] == bot["image"]
    assert upgrade["restartPolicy"] == "Never"
    load = resources[CATALOG_JOB]["spec"]["template"]["spec"]
    container = pod_checks(load)
    assert container["image"] == bot["image"]
    assert container["args"][:3] == ["catalog", "load", "/etc/hotfix-bot/catalog.yaml"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/hotfix-bot"]
    (volume,) = [v for v in load["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == CATALOG[1]


def test_the_catalog_config_map_loads_with_the_cli(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(manifests()[CATALOG]["data"]["catalog.yaml"])
    result = CliRunner().invoke(
        main,
        ["catalog", "load", str(catalog), "--database-url", f"sqlite:///{tmp_path}/c.db"],
    )
    assert result.exit_code == 0, result.output
    assert "eCommerce" in result.output


def test_secret_holds_only_placeholders() -> None:
    data = manifests()["Secret", BOT]["stringData"]
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"} <= set(data)
    assert all("REPLACE-ME" in value for value in data.values())
