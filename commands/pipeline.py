"""The pipeline: ordered environments, aliases, and the order a hotfix is propagated in."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from commands.errors import InvalidInput


@dataclass(frozen=True)
class Environment:
    name: str
    alias: str
    position: int  # 0 is the first stage (Development); Production is last


DEFAULT_ENVIRONMENTS: tuple[tuple[str, str], ...] = (
    ("Development", "dev"),
    ("Quality Assurance", "qa"),
    ("Pre-Production", "preprod"),
    ("Production", "prod"),
)


@dataclass(frozen=True)
class Pipeline:
    environments: tuple[Environment, ...]
    hotfix_environment_name: str

    @classmethod
    def build(
        cls, named: Sequence[tuple[str, str]], hotfix_environment: str | None = None
    ) -> Pipeline:
        if len(named) < 2:
            raise InvalidInput("a pipeline needs at least two environments, ending in Production")
        environments = tuple(
            Environment(name=name, alias=alias, position=index)
            for index, (name, alias) in enumerate(named)
        )
        keys: set[str] = set()
        for environment in environments:
            for key in (environment.name.casefold(), environment.alias.casefold()):
                if key in keys:
                    raise InvalidInput(f"environment name or alias '{key}' is used twice")
                keys.add(key)
        pipeline = cls(environments, hotfix_environment_name="")
        if hotfix_environment is None:
            chosen = environments[-2]
        else:
            chosen = pipeline.find(hotfix_environment)
            if chosen == pipeline.production:
                raise InvalidInput("the hotfix environment cannot be Production itself")
        return cls(environments, hotfix_environment_name=chosen.name)

    @classmethod
    def default(cls) -> Pipeline:
        return cls.build(DEFAULT_ENVIRONMENTS)

    @property
    def production(self) -> Environment:
        return self.environments[-1]

    @property
    def hotfix_environment(self) -> Environment:
        return self.find(self.hotfix_environment_name)

    def find(self, text: str) -> Environment:
        key = text.strip().casefold()
        for environment in self.environments:
            if key in (environment.name.casefold(), environment.alias.casefold()):
                return environment
        choices = [e.alias for e in self.environments] + [e.name for e in self.environments]
        close = difflib.get_close_matches(text.strip(), choices, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        known = ", ".join(f"{e.name} ({e.alias})" for e in self.environments)
        raise InvalidInput(f"unknown environment '{text}'. Known: {known}.{hint}")

    def propagation_order(self) -> tuple[Environment, ...]:
        """Environments that receive the fix after Production, closest to Production first."""
        hotfix = self.hotfix_environment
        return tuple(reversed([e for e in self.environments if e.position < hotfix.position]))

    def between_hotfix_and_production(self) -> tuple[Environment, ...]:
        """Environments after the hotfix environment and before Production (usually none)."""
        hotfix = self.hotfix_environment
        return tuple(
            e for e in self.environments if hotfix.position < e.position < self.production.position
        )
