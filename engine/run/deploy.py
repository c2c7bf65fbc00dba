"""On deploy: move in-flight cases out of states that a new definition version renamed or removed.

Cases stay pinned to the version they were submitted under (engine/run/services.py) — except
where the new version's `workflow.migrate` says where cases in a dropped state now belong. Those
cases are moved to the mapped state and re-pinned to the new version, each move recorded in the
audit trail. `tsonkh check --against REV` refuses a version that drops a state without such a map.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.review.migration import plan_migration
from engine.run import audit
from engine.run.db import applications, now
from engine.run.services import ServiceBook


@dataclass(frozen=True)
class Move:
    tracking: str
    service_id: str
    from_state: str
    to_state: str
    from_version: str
    to_version: str


def migrate_in_flight(conn: Connection, book: ServiceBook) -> list[Move]:
    """Apply every current version's migration map to the cases still pinned to older versions."""
    moves: list[Move] = []
    for service in sorted(book.services.values(), key=lambda s: s.id):
        migrate = service.workflow.migrate
        if not migrate:
            continue
        rows = conn.execute(
            sa.select(applications).where(
                applications.c.service_id == service.id,
                applications.c.definition_version != service.version,
                applications.c.state.in_(list(migrate)),
            )
        ).mappings()
        for app in list(rows):
            old = book.pinned(conn, app["definition_version"])
            if old is None or app["state"] not in old.workflow.states or old.workflow.states[app["state"]].final:
                continue
            target = plan_migration(old, service).target(app["state"])
            if target is None or target == app["state"]:
                continue
            book.remember(conn, service)
            # The chain's lock before the case's row, in the order cases.fire takes them: two
            # transactions never hold one each while waiting for the other (PostgreSQL).
            audit.lock_chain(conn)
            moved = conn.execute(
                applications.update()
                .where(applications.c.id == app["id"], applications.c.row_version == app["row_version"])
                .values(
                    state=target,
                    definition_version=service.version,
                    back_state=None,  # the old origin may not exist in the new version
                    closed=service.workflow.states[target].final,
                    row_version=app["row_version"] + 1,
                    updated_at=now(),
                )
            )
            if moved.rowcount != 1:
                continue  # an officer acted on it meanwhile; the next deploy or start sees it again
            audit.append(
                conn,
                application_id=app["id"],
                actor="system",
                role="system",
                office=app["office"],
                action="migrate",
                from_state=app["state"],
                to_state=target,
                comment=f"definition {app['definition_version']} → {service.version}",
            )
            moves.append(Move(app["tracking"], service.id, app["state"], target, app["definition_version"],
                              service.version))
    return moves
