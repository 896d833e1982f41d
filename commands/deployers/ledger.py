"""The default deployer: the bot's database is the truth and a deploy completes at once."""

from __future__ import annotations

from commands.deployers.port import FINISHED_SUCCESSFUL, DeployRequest, Progress, RunningVersion


class LedgerDeployer:
    kind = "ledger"
    immediate = True

    def running(self, application: str, environment: str) -> RunningVersion | None:
        return None

    def start(self, request: DeployRequest) -> Progress:
        return Progress(FINISHED_SUCCESSFUL, log=(f"Recorded {request.version} in Production",))

    def poll(self, external_key: str) -> Progress | None:
        return None

    def continue_(self, external_key: str) -> None:
        return None

    def abort(self, external_key: str) -> None:
        return None
