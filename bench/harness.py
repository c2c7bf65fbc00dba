"""Timing, statistics and the result rows every figure returns; no figure times anything by itself.

A sample is the mean of `number` back-to-back calls (chosen so a sample lasts a few milliseconds,
above timer noise); a row reports the median of the samples and their p10–p90 spread. Ratios are
always against a baseline row measured in the same run, on the same inputs.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    figure: str
    name: str
    unit: str  # "ms", "µs" (lower is better) or "req/s" (higher is better)
    median: float
    p10: float
    p90: float
    samples: int
    baseline: str | None = None  # the name of the row (same figure) this one is compared with
    target: str | None = None  # e.g. "≤ 2×": the ratio this row must reach against its baseline
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        return self.unit.endswith("/s")


@dataclass
class Section:
    """A figure's output: rows, plus free text (query plans, notes) shown under its table."""

    figure: str
    title: str
    rows: list[Row] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


SCALE = {"s": 1.0, "ms": 1e3, "µs": 1e6}


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, p10 and p90 (nearest-rank on the sorted values)."""
    ordered = sorted(values)
    n = len(ordered)
    pick = lambda q: ordered[min(n - 1, max(0, round(q * (n - 1))))]  # noqa: E731
    return statistics.median(ordered), pick(0.10), pick(0.90)


# In-process figures count this thread's CPU time, not wall time: the machine is shared (other
# engineers' test runs kept the load average near 10 on 2 cores while this suite was written), and
# CPU time is what a figure costs whatever else runs. Figures that wait on I/O or on other
# processes (HTTP, databases) pass clock=WALL.
CPU = time.thread_time
WALL = time.perf_counter


def measure(
    fn: Callable[[], Any],
    *,
    repeat: int = 15,
    min_sample_s: float = 0.005,
    max_total_s: float = 4.0,
    clock: Callable[[], float] = CPU,
) -> list[float]:
    """Seconds per call of `fn`, one value per sample. Calls `fn` once first (warm-up, caches)."""
    start = clock()
    fn()
    first = clock() - start
    number = max(1, int(min_sample_s / max(first, 1e-7)))
    # Never spend more than max_total_s on one row, whatever repeat says.
    repeat = max(min(3, repeat), min(repeat, int(max_total_s / max(first * number, 1e-9))))
    samples = []
    gc.collect()
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn()
        samples.append((clock() - t0) / number)
    return samples


def row(figure: str, name: str, seconds: Sequence[float], unit: str = "µs", **kwargs: Any) -> Row:
    median, p10, p90 = spread(seconds)
    k = SCALE[unit]
    return Row(figure, name, unit, median * k, p10 * k, p90 * k, len(seconds), **kwargs)


def timed(
    figure: str,
    name: str,
    fn: Callable[[], Any],
    unit: str = "µs",
    repeat: int = 15,
    clock: Callable[[], float] = CPU,
    **kwargs: Any,
) -> Row:
    return row(figure, name, measure(fn, repeat=repeat, clock=clock), unit, **kwargs)


def ratio(r: Row, rows: Sequence[Row]) -> float | None:
    """This row against its baseline: time ratio (lower is better) or throughput ratio (higher is better)."""
    if r.baseline is None:
        return None
    base = next((b for b in rows if b.figure == r.figure and b.name == r.baseline), None)
    if base is None or base.median == 0:
        return None
    return r.median / base.median


def meets(r: Row, value: float | None) -> str:
    """'yes' or '**no**' against the row's target: a ratio ("≤ 2×") or an absolute bound ("≤ 10 µs")."""
    if r.target is None:
        return ""
    if r.target.startswith("p95 < ") and "p95" in r.extra:  # a latency bound on the 95th percentile, in ms
        return "yes" if r.extra["p95"] * 1e3 < float(r.target.split()[2]) else "**no**"
    op, _, bound = r.target.partition(" ")
    if bound.endswith("×"):
        if value is None:
            return ""
        limit = float(bound.rstrip("×"))
    else:
        number, _, unit = bound.partition(" ")
        value = r.median * SCALE[unit] / SCALE[r.unit] if unit in SCALE else r.median
        limit = float(number)
    ok = value <= limit if op == "≤" else value >= limit
    return "yes" if ok else "**no**"
