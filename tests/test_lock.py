"""The lock files agree with pyproject.toml, so CI and the image install what the project asks.

Other engineers add dependencies to pyproject.toml; this fails until `scripts/lock.sh` has been
re-run, instead of CI or the image silently installing without the new package.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

# One pinned package: `name==version [; marker] \` followed by its `--hash=` lines.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int


def read_lock(text: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    name: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match["name"])
            pins[name] = Pin(Version(match["version"]), 0)
        elif line.startswith("--hash=") and name is not None:
            pins[name] = Pin(pins[name].version, pins[name].hashes + 1)
    return pins


def lock_problems(requirements: list[str], pins: dict[str, Pin], lock_name: str) -> list[str]:
    """What in `requirements` the lock does not satisfy, one readable line each."""
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{requirement.name} is missing from {lock_name}")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"{lock_name} pins {requirement.name}=={pin.version}, "
                f"outside pyproject's '{requirement.specifier}'"
            )
    problems.extend(
        f"{name} has no --hash in {lock_name}" for name, pin in pins.items() if pin.hashes == 0
    )
    return problems


def project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": data["dependencies"], "dev": data["optional-dependencies"]["dev"]}


HINT = "pyproject.toml and the lock files disagree; run scripts/lock.sh"


def test_runtime_lock_satisfies_the_runtime_dependencies() -> None:
    pins = read_lock(RUNTIME_LOCK.read_text())
    assert lock_problems(project()["runtime"], pins, RUNTIME_LOCK.name) == [], HINT


def test_dev_lock_satisfies_runtime_and_dev_dependencies() -> None:
    deps = project()
    pins = read_lock(DEV_LOCK.read_text())
    assert lock_problems(deps["runtime"] + deps["dev"], pins, DEV_LOCK.name) == [], HINT


def test_both_locks_pin_the_same_versions() -> None:
    runtime = read_lock(RUNTIME_LOCK.read_text())
    dev = read_lock(DEV_LOCK.read_text())
    assert set(runtime) <= set(dev), HINT
    differing = {
        name: (pin.version, dev[name].version)
        for name, pin in runtime.items()
        if dev[name].version != pin.version
    }
    assert differing == {}, HINT


def test_the_runtime_lock_holds_no_dev_tool() -> None:
    runtime = read_lock(RUNTIME_LOCK.read_text())
    dev_only = {canonicalize_name(Requirement(text).name) for text in project()["dev"]}
    assert dev_only & set(runtime) == set()


def test_the_check_reports_a_missing_package_and_a_pin_below_the_lower_bound() -> None:
    lock = read_lock(
        "alembic==1.20.1 \\\n    --hash=sha256:aa\n"
        "Slack_SDK==3.40.0 ; python_version >= '3.11' \\\n    --hash=sha256:bb\n"
        "click==8.1.0\n"
    )
    assert lock["slack-sdk"] == Pin(Version("3.40.0"), 1)
    problems = lock_problems(
        ["alembic>=1.20.0", "slack-sdk>=3.47.0", "prometheus-client>=0.21.0", "click>=8"],
        lock,
        "x.lock",
    )
    assert problems == [
        "x.lock pins slack-sdk==3.40.0, outside pyproject's '>=3.47.0'",
        "prometheus-client is missing from x.lock",
        "click has no --hash in x.lock",
    ]
