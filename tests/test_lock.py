"""The lock files agree with pyproject.toml, so CI and the image install what the project asks.

Other engineers add dependencies to pyproject.toml; this fails until `scripts/lock.sh` has been
re-run, instead of CI or the image silently installing without the new package.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

# One pinned package: `name==version [; marker] \\`, then its `--hash=` lines, then uv's
# `# via` block naming what requires it. A universal lock may pin one name twice, under
# different markers (numpy per Python version, say).
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
VIA_ITEM = re.compile(r"^#\s+(?P<source>\S.*)$")
PROJECT = "hotfix-bot (pyproject.toml)"


@dataclass
class Pin:
    version: Version
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def read_lock(text: str) -> dict[str, list[Pin]]:
    pins: dict[str, list[Pin]] = {}
    current: Pin | None = None
    in_via = False
    for raw in text.splitlines():
        line = raw.strip()
        match = PIN.match(line)
        if match:
            current = Pin(Version(match["version"]))
            pins.setdefault(canonicalize_name(match["name"]), []).append(current)
            in_via = False
        elif current is None:
            continue
        elif line.startswith("--hash="):
            current.hashes += 1
        elif line.startswith("# via"):
            in_via = True
            rest = line.removeprefix("# via").strip()
            if rest:
                current.via.add(rest)
        elif in_via and (item := VIA_ITEM.match(line)):
            current.via.add(item["source"])
    return pins


def lock_problems(requirements: list[str], pins: dict[str, list[Pin]], lock_name: str) -> list[str]:
    """What in `requirements` the lock does not satisfy, one readable line each."""
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} is missing from {lock_name}")
        for pin in pins.get(name, []):
            if not requirement.specifier.contains(pin.version, prereleases=True):
                problems.append(
                    f"{lock_name} pins {requirement.name}=={pin.version}, "
                    f"outside pyproject's '{requirement.specifier}'"
                )
    problems.extend(
        f"{name} has no --hash in {lock_name}"
        for name, versions in pins.items()
        for pin in versions
        if pin.hashes == 0
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


def versions(pins: dict[str, list[Pin]]) -> dict[str, set[Version]]:
    return {name: {pin.version for pin in found} for name, found in pins.items()}


def test_both_locks_pin_the_same_versions() -> None:
    runtime = versions(read_lock(RUNTIME_LOCK.read_text()))
    dev = versions(read_lock(DEV_LOCK.read_text()))
    assert set(runtime) <= set(dev), HINT
    differing = {name: (found, dev[name]) for name, found in runtime.items() if dev[name] != found}
    assert differing == {}, HINT


def test_the_runtime_lock_holds_no_dev_tool_for_its_own_sake() -> None:
    # A dev-extra package may be in the runtime lock only because a runtime package needs it
    # (matplotlib needs packaging, say), never because the project asked for it.
    runtime = read_lock(RUNTIME_LOCK.read_text())
    dev_only = {canonicalize_name(Requirement(text).name) for text in project()["dev"]}
    asked_for = {
        name
        for name in dev_only & set(runtime)
        for pin in runtime[name]
        if PROJECT in pin.via or not pin.via - {"-c requirements-dev.lock"}
    }
    assert asked_for == set()


def test_the_check_reports_a_missing_package_and_a_pin_below_the_lower_bound() -> None:
    lock = read_lock(
        "# header\n"
        "alembic==1.20.1 \\\n    --hash=sha256:aa\n    # via hotfix-bot (pyproject.toml)\n"
        "Slack_SDK==3.40.0 ; python_version >= '3.11' \\\n    --hash=sha256:bb\n"
        "    # via\n    #   -c requirements-dev.lock\n    #   slack-bolt\n"
        "click==8.1.0\n"
    )
    assert lock["alembic"] == [Pin(Version("1.20.1"), 1, {PROJECT})]
    assert lock["slack-sdk"] == [
        Pin(Version("3.40.0"), 1, {"-c requirements-dev.lock", "slack-bolt"})
    ]
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


def test_every_pin_of_a_name_must_satisfy_the_requirement() -> None:
    lock = read_lock(
        "numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:aa\n"
        "numpy==1.26.0 ; python_full_version >= '3.12' \\\n    --hash=sha256:bb\n"
    )
    assert [pin.version for pin in lock["numpy"]] == [Version("2.4.6"), Version("1.26.0")]
    assert lock_problems(["numpy>=2"], lock, "x.lock") == [
        "x.lock pins numpy==1.26.0, outside pyproject's '>=2'"
    ]
