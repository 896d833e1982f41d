"""How much the benchmark does: the full run, or a quick smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    requests: int  # per (request kind, concurrency) cell
    floor_requests: int  # per cell of the floor: enough clock ticks for its CPU per request
    profile_requests: int  # per profiling pass (one per missed bar's request kind)
    warmup: int  # requests of each kind before measuring, per server
    small_applications: int
    large_applications: int
    modules: int = 40
    hotfixes_per_application: int = 4
    concurrencies: tuple[int, ...] = (1, 16)
    threads: int = 8  # HTTP_THREADS of the server under test (the product's default)
    cell_time_limit: float = 240.0
    due_reminders: int = 10_000
    # At concurrency 1 a worker waits this long after each follow-up before its next request:
    # a person does not click again the instant the message changes, and without it the next
    # ack is timed against the tail of the previous request's work (the fake Web API reports
    # the follow-up before it even answers the server). Both servers get it alike.
    think_at_1: float = 0.02

    @classmethod
    def full(cls, threads: int = 8) -> Plan:
        return cls(
            "full",
            requests=300,
            floor_requests=2000,
            profile_requests=80,
            warmup=10,
            small_applications=10,
            large_applications=500,
            threads=threads,
        )

    @classmethod
    def quick(cls, threads: int = 8) -> Plan:
        return cls(
            "quick",
            requests=30,
            floor_requests=300,
            profile_requests=30,
            warmup=4,
            small_applications=10,
            large_applications=100,
            threads=threads,
            cell_time_limit=30.0,
            due_reminders=1_000,
        )
