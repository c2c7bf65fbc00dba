"""Sub-commands contributed by later pipeline stages. Each entry adds its parser and sets `handler`.

Keeping the list here (instead of discovering plugins) makes every command easy to find.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTRY: list[Register] = []

from engine.review.commands import register_diff, register_docs  # noqa: E402  (reviewer tooling, issue 5)

REGISTRY += [register_diff, register_docs]

from engine.run.cli import register as register_portal  # noqa: E402  (portal: serve, audit; issue 4)

REGISTRY += [register_portal]

from engine.run.worker import register as register_worker  # noqa: E402  (outbox delivery and SLA timers; issue 8)

REGISTRY += [register_worker]

from engine.run.exchange.cli import register as register_exchange  # noqa: E402  (ХУР local registry; issue 6)

REGISTRY += [register_exchange]
