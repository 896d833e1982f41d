from __future__ import annotations

from bot.pacing import ChannelPacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_posts_to_one_channel_are_a_second_apart_others_do_not_wait() -> None:
    time = FakeTime()
    pacer = ChannelPacer(1.0, clock=time.clock, sleep=time.sleep)
    pacer.wait("C1")
    pacer.wait("C2")
    assert time.slept == []
    pacer.wait("C1")
    assert time.slept == [1.0]
    time.now += 0.4
    pacer.wait("C1")
    assert time.slept == [1.0, 0.6]
    time.now += 5
    pacer.wait("C1")
    assert time.slept == [1.0, 0.6]
