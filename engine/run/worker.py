"""The delivery worker: sends due outbox messages and runs SLA timers; `tsonkh worker`, or inside `tsonkh serve`.

One pass claims a batch (a lease, skip-locked on PostgreSQL), delivers each message outside any
database transaction, and records the outcome; then it checks SLA deadlines. Every bit of state
is in the database, so a worker can be killed at any point and another one carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from engine.run import outbox, sla
from engine.run.calendar import HolidayCalendar, default_calendar
from engine.run.delivery_settings import DeliverySettings
from engine.run.notify.channels import Channel, DeliveryError, channels

SLA_EVERY = dt.timedelta(minutes=1)


@dataclass
class PassReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    sla: Mapping[str, int] = field(default_factory=dict)


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: DeliverySettings,
        book: Any = None,
        calendar: HolidayCalendar | None = None,
        senders: Mapping[str, Channel] | None = None,
        name: str | None = None,
        clock: Callable[[], dt.datetime] = outbox.utcnow,
        max_attempts: int = outbox.MAX_ATTEMPTS,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.book = book
        self.calendar = calendar or default_calendar()
        self.senders = dict(senders) if senders is not None else channels(settings)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock
        self.max_attempts = max_attempts
        self._sla_at: dt.datetime | None = None  # SLA deadlines are days apart: checking once a minute is plenty

    def deliver_due(self, limit: int = 20) -> PassReport:
        report = PassReport()
        for message in outbox.claim(self.engine, self.name, self.clock(), limit):
            sender = self.senders.get(message.kind)
            try:
                if sender is None:
                    raise DeliveryError(f"no channel for {message.kind!r}")
                sender.send(message)
            except DeliveryError as err:
                status = outbox.failed(self.engine, message, self.name, self.clock(), str(err), self.max_attempts)
                if status == "dead":
                    report.dead += 1
                else:
                    report.retried += 1
                continue
            except Exception as err:  # a bug in a channel must not stop the worker: retry like a failure
                outbox.failed(self.engine, message, self.name, self.clock(), repr(err), self.max_attempts)
                report.retried += 1
                continue
            outbox.delivered(self.engine, message, self.name, self.clock())
            report.delivered += 1
        return report

    def run_once(self) -> PassReport:
        report = PassReport()
        now = self.clock()
        if self.book is not None and (self._sla_at is None or now - self._sla_at >= SLA_EVERY or now < self._sla_at):
            report.sla = sla.check(self.engine, self.book, self.calendar, now.date())
            self._sla_at = now
        delivered = self.deliver_due()
        report.delivered, report.retried, report.dead = delivered.delivered, delivered.retried, delivered.dead
        return report

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception as err:  # e.g. the database restarting: try again next pass
                print(f"tsonkh worker: pass failed: {err!r}", flush=True)
                report = PassReport()
            if report.delivered or report.retried:
                continue  # more may be waiting
            stop.wait(self.settings.interval)


async def run_in_background(worker: Worker, stop: asyncio.Event) -> None:
    """The embedded setup: passes run in a thread (blocking I/O) from an asyncio task of `tsonkh serve`."""
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(worker.run_once)
        except Exception as err:
            print(f"tsonkh worker: pass failed: {err!r}", flush=True)
            report = PassReport()
        if report.delivered or report.retried:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=worker.settings.interval)


def attach(app: Any) -> None:
    """Run a worker beside the portal (the embedded setup): started and stopped with the app's lifespan."""
    from engine.run import effects
    from engine.run.delivery_settings import load_delivery_settings

    settings = load_delivery_settings()
    if not settings.run_in_serve:
        return
    effects.configure(settings)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(scope_app: Any) -> Any:
        portal = app.state.portal
        worker = Worker(portal.engine, settings, book=portal.book)
        stop = asyncio.Event()
        task = asyncio.create_task(run_in_background(worker, stop))
        try:
            async with inner(scope_app) as state:
                yield state
        finally:
            stop.set()
            await task

    app.router.lifespan_context = lifespan


def register(sub: Any) -> None:
    worker = sub.add_parser("worker", help="deliver outgoing messages and run SLA timers (runs until stopped)")
    worker.add_argument("--once", action="store_true", help="one pass, then exit (for cron or a test)")
    worker.set_defaults(handler=cmd_worker)


def cmd_worker(args: Any) -> int:
    import signal

    from engine.run import effects
    from engine.run.db import make_engine
    from engine.run.delivery_settings import load_delivery_settings
    from engine.run.migrate import upgrade
    from engine.run.services import ServiceBook
    from engine.run.settings import load_settings
    from engine.run.web.app import load_services

    settings = load_settings()
    delivery = load_delivery_settings()
    effects.configure(delivery)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    worker = Worker(engine, delivery, book=ServiceBook(load_services(settings.catalog_paths)))
    if args.once:
        report = worker.run_once()
        print(f"tsonkh worker: delivered {report.delivered}, retrying {report.retried}, dead {report.dead}")
        print(f"tsonkh worker: SLA notices {dict(report.sla)}")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"tsonkh worker {worker.name}: running (every {delivery.interval:g}s)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        worker.run_forever(stop)
    return 0
