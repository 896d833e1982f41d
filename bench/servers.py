"""Starting the server under test as a separate process, the way `hotfix-bot serve` runs."""

from __future__ import annotations

import math
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("-m", "cli.main", "serve")
FLOOR = ("-m", "bench.floor_app")
PROFILED = ("-m", "bench.profiled_serve")  # the product under cProfile
# Settings the server would read; the benchmark sets its own. Proxies are dropped: 127.0.0.1 only.
_DROPPED = (
    "slack_",
    "database_url",
    "hotfix_",
    "port",
    "host",
    "http_threads",
    "listener_threads",
)


@dataclass(frozen=True)
class Secrets:
    token: str
    signing_secret: str

    @classmethod
    def new(cls) -> Secrets:
        return cls(f"xoxb-bench-{secrets.token_hex(6)}", secrets.token_hex(16))


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def peak_rss_kib(self) -> int | None:
        """VmHWM: the peak resident set size of the process so far."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (all its threads)."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return math.nan
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(
    keys: Secrets, api_url: str, port: int, threads: int, database_url: str | None
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().startswith(_DROPPED) and "proxy" not in k.lower()
    }
    env.update(
        {
            "SLACK_BOT_TOKEN": keys.token,
            "SLACK_SIGNING_SECRET": keys.signing_secret,
            "SLACK_API_URL": api_url,
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "HTTP_THREADS": str(threads),
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONPATH": str(REPO),
        }
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def start(
    name: str,
    module_args: tuple[str, ...],
    env: dict[str, str],
    folder: Path,
    *,
    timeout: float = 60.0,
) -> ServerProcess:
    """Start `python <module_args>` and wait until `GET /healthz` answers 200."""
    port = int(env["PORT"])
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *module_args],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(name, process, port, log_path)
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {tail(log_path)}")
        try:
            with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not answer /healthz in {timeout:.0f}s: {tail(log_path)}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
