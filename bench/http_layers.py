"""Figure 4's requests in-process, layer by layer: where a request's CPU goes, without server or wrk.

The ASGI app is called directly (no socket, no uvicorn) with the same requests wrk sends. A timer
sits between every two layers of the middleware stack, so each middleware's own share (its part
of the request and of the response's way out) is what it costs alone; named functions inside the
handler (the database transaction, validation, the form's views, the template, JSON) are timed
inclusively where they exist.

Two clocks: a whole request is timed in this process's CPU time (time.process_time, which counts
the thread the database work runs on) with no timer inside it. The layers are timed with
time.perf_counter: reading a CPU clock is a system call, ≈5 µs on this machine, more than a
middleware layer costs, while perf_counter reads in ≈0.4 µs. Requests run one after another, so
wall time inside a request is that request's (plus whatever else the machine preempts it for).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.harness import Row, spread

CPU = time.process_time
CLOCK = time.perf_counter  # for the layers: cheap to read, see above
Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


class _Layer:
    """Times the app below it, less what that app spends sending the response on past this point."""

    def __init__(self, inner: ASGIApp, name: str, spent: collections.defaultdict[str, float]) -> None:
        self.inner, self.name, self.spent = inner, name, spent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outward = 0.0

        async def timed_send(message: Message) -> None:
            nonlocal outward
            started = CLOCK()
            await send(message)
            outward += CLOCK() - started

        started = CLOCK()
        await self.inner(scope, receive, timed_send)
        self.spent[self.name] += CLOCK() - started - outward


@contextmanager
def _timed_work(owner: Any, attribute: str, label: str, spent: collections.defaultdict[str, float]) -> Iterator[None]:
    """Wrap `owner.attribute(self, work, …)` so that `work` itself is timed in its own thread's CPU time.

    For Portal.run: the database work runs on another thread, where a CPU clock read inside the
    work (two per transaction) costs little against the work, and the hop is left out."""
    original = owner.__dict__.get(attribute)
    if original is None:
        yield
        return

    async def run(self: Any, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def timed(*inner: Any, **named: Any) -> Any:
            started = time.thread_time()
            try:
                return work(*inner, **named)
            finally:
                spent[label] += time.thread_time() - started

        return await original(self, timed, *args, **kwargs)

    setattr(owner, attribute, run)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


@contextmanager
def _timed_functions(
    targets: list[tuple[Any, str, str]], spent: collections.defaultdict[str, float]
) -> Iterator[list[str]]:
    """Wrap `owner.attribute` (sync or async) to add its inclusive time to spent[label]; undone after."""
    undo: list[tuple[Any, str, Any]] = []
    labels = []
    for owner, attribute, label in targets:
        original = owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute, None)
        if original is None or not callable(original):
            continue  # renamed or gone since: that line is simply not shown
        wrapped = _wrap(original, label, spent)
        setattr(owner, attribute, wrapped)
        undo.append((owner, attribute, original))
        labels.append(label)
    try:
        yield labels
    finally:
        for owner, attribute, original in reversed(undo):
            setattr(owner, attribute, original)


def _wrap(original: Callable[..., Any], label: str, spent: collections.defaultdict[str, float]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = CLOCK()
            try:
                return await original(*args, **kwargs)
            finally:
                spent[label] += CLOCK() - started

        return timed_async

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = CLOCK()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += CLOCK() - started

    return timed


async def _call(app: ASGIApp, request: Request) -> int:
    method, path, headers, body = request
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "state": {},
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
    }
    given = False
    status = 0

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def whole_request(app: Starlette, request: Request, count: int, rounds: int, expect: int) -> list[float]:
    """Seconds of CPU per request, one value per round of `count` requests (after a warm-up round)."""

    async def go() -> list[float]:
        out = []
        for n in range(rounds + 1):
            started = CPU()
            for _ in range(count):
                status = await _call(app, request)
                if status != expect:
                    raise RuntimeError(f"{request[0]} {request[1]} answered {status}, not {expect}")
            if n:
                out.append((CPU() - started) / count)
        return out

    return asyncio.run(go())


def layer_rows(
    figure: str,
    label: str,
    app: Starlette,
    request: Request,
    expect: int,
    functions: list[tuple[Any, str, str]],
    count: int,
    rounds: int,
    baseline: str | None = None,
    work: tuple[Any, str, str] | None = None,
) -> list[Row]:
    """Rows: the whole request (CPU), then in wall time each middleware layer's own share, the router
    and handler, and the named functions."""
    whole_cpu = whole_request(app, request, count, rounds, expect)
    spent: collections.defaultdict[str, float] = collections.defaultdict(float)
    if work is not None:
        with _timed_work(*work, spent):
            whole_request(app, request, count, 0, expect)  # warm-up
            spent.clear()
            work_cpu = []
            for _ in range(rounds):
                whole_request(app, request, count, 0, expect)
                work_cpu.append(spent[work[2]] / count)
                spent.clear()
    stack = app.build_middleware_stack()
    layers = []
    layer: Any = stack
    while hasattr(layer, "app") and not isinstance(layer, Router | _Layer):
        below = layer.app
        layers.append(type(layer).__name__)
        layer.app = _Layer(below, type(layer).__name__, spent)
        layer = below
    app.middleware_stack = _Layer(stack, "whole", spent)
    samples: dict[str, list[float]] = collections.defaultdict(list)
    try:
        with _timed_functions(functions, spent) as shown:

            async def go() -> None:
                for n in range(rounds + 1):
                    spent.clear()
                    for _ in range(count):
                        status = await _call(app, request)
                        if status != expect:
                            raise RuntimeError(f"{request[0]} {request[1]} answered {status}, not {expect}")
                    if not n:
                        continue  # warm-up
                    previous = spent["whole"]
                    samples["whole"].append(previous / count)
                    for name in layers:
                        samples[name].append((previous - spent[name]) / count)
                        previous = spent[name]
                    samples["router"].append(previous / count)
                    for name in shown:
                        samples[name].append(spent[name] / count)

            asyncio.run(go())
    finally:
        app.middleware_stack = None  # rebuilt without the timers on the next call
    rows = []

    def add(name: str, values: list[float], note: str = "", base: str | None = None) -> None:
        median, p10, p90 = spread(values)
        rows.append(Row(figure, name, "µs", median * 1e6, p10 * 1e6, p90 * 1e6, len(values), baseline=base,
                        note=note))

    add(f"{label}: whole request, CPU", whole_cpu, base=baseline)
    if work is not None:
        add(f"{label}: · {work[2]}, CPU", work_cpu, "on the database thread, inside the transaction",
            base=f"{label}: whole request, CPU")
    timed = f"{label}: whole request with the layer timers, wall"
    add(timed, samples["whole"])
    for name in layers:
        add(f"{label}: · {name} (own share)", samples[name], base=timed)
    add(f"{label}: · router, handler and all below", samples["router"], base=timed)
    for name in shown:
        if any(samples[name]):  # a function this request never calls has no line
            add(f"{label}: · · {name}", samples[name], "inclusive", base=timed)
    return rows
