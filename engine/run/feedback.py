"""Citizen feedback: one rating (1–5) and an optional comment per closed case, by its applicant only;
the comments an agency's officers read; the ratings the statistics publish."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.compile.service import Service
from engine.run.db import now
from engine.run.exchange.tables import feedback

MAX_COMMENT = 1000


@dataclass(frozen=True)
class Given:
    ok: bool
    code: str = "ok"  # not_found | not_final | already_rated | bad_rating


def of_application(conn: Connection, application_id: int) -> Mapping[str, Any] | None:
    row = conn.execute(sa.select(feedback).where(feedback.c.application_id == application_id)).mappings().first()
    return dict(row) if row else None


def give(
    conn: Connection, app: Mapping[str, Any] | None, service: Service | None, citizen_id: int, rating: Any, comment: Any
) -> Given:
    """Record the applicant's rating of their own closed case, once."""
    if app is None or service is None or app["citizen_id"] != citizen_id:
        return Given(False, "not_found")
    state = service.workflow.states.get(app["state"])
    if state is None or not state.final:
        return Given(False, "not_final")
    try:
        stars = int(str(rating))
    except ValueError:
        return Given(False, "bad_rating")
    if not 1 <= stars <= 5:
        return Given(False, "bad_rating")
    text = " ".join(str(comment or "").split())[:MAX_COMMENT] or None  # stored as typed; escaped when shown
    try:
        with conn.begin_nested():
            conn.execute(
                feedback.insert().values(
                    application_id=app["id"],
                    citizen_id=citizen_id,
                    service_id=app["service_id"],
                    office=app["office"],
                    rating=stars,
                    comment=text,
                    created_at=now(),
                )
            )
    except IntegrityError:
        return Given(False, "already_rated")
    return Given(True)


def for_offices(conn: Connection, offices: list[str], limit: int = 200) -> list[Mapping[str, Any]]:
    """The newest ratings and comments on cases handled by these offices (no applicant identity)."""
    rows = conn.execute(
        sa.select(feedback.c.service_id, feedback.c.office, feedback.c.rating, feedback.c.comment,
                  feedback.c.created_at)
        .where(feedback.c.office.in_(offices))
        .order_by(feedback.c.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def ratings(conn: Connection) -> dict[str, list[int]]:
    """Every rating by service id."""
    out: dict[str, list[int]] = {}
    for service_id, rating in conn.execute(sa.select(feedback.c.service_id, feedback.c.rating)):
        out.setdefault(service_id, []).append(int(rating))
    return out
