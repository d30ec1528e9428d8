"""Expected wait: from the measured departure rate of each queue and a position.

Theory of operation: each time an inquiry of a queue is answered, the gap since
the previous answer feeds an exponentially weighted mean of inter-answer time
(the measured service rate of that queue, whatever the staffing). An arrival at
position ``k`` then expects to wait ``k`` such gaps. Before any departure has
been seen the estimate falls back to 0 (an agent is likely free).
"""

from __future__ import annotations

__all__ = ["WaitEstimator"]


class WaitEstimator:
    __slots__ = ("alpha", "gap", "last")

    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha
        self.gap: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def on_answer(self, queue: str, now: float) -> None:
        last = self.last.get(queue)
        self.last[queue] = now
        if last is None:
            return
        g = now - last
        prev = self.gap.get(queue)
        self.gap[queue] = g if prev is None else prev + self.alpha * (g - prev)

    def expected_wait(self, queue: str, position: int) -> float:
        if position <= 0:
            return 0.0
        return position * self.gap.get(queue, 0.0)
