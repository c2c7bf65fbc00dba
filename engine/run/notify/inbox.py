"""Citizens' notice preferences, the in-portal inbox, and sending one notice to its recipient.

The inbox row is written in the action's own transaction, so a notice is never lost; email and
SMS copies go through the outbox in the same transaction, in the recipient's chosen language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.run import outbox
from engine.run.db import citizens, now
from engine.run.delivery_db import inbox, notification_profiles
from engine.run.notify.messages import Notice

CHANNELS = ("inbox", "email", "sms")


@dataclass(frozen=True)
class Profile:
    channel: str = "inbox"
    language: str = "mn"
    email: str | None = None
    phone: str | None = None


def profile(conn: Connection, citizen_id: int) -> Profile:
    row = conn.execute(
        sa.select(notification_profiles).where(notification_profiles.c.citizen_id == citizen_id)
    ).mappings().first()
    if row is None:
        phone = conn.execute(sa.select(citizens.c.phone).where(citizens.c.id == citizen_id)).scalar()
        return Profile(phone=phone)
    return Profile(row["channel"], row["language"], row["email"], row["phone"])


def save_profile(conn: Connection, citizen_id: int, chosen: Profile) -> None:
    values = {
        "channel": chosen.channel if chosen.channel in CHANNELS else "inbox",
        "language": chosen.language if chosen.language in ("mn", "en") else "mn",
        "email": (chosen.email or "").strip() or None,
        "phone": (chosen.phone or "").strip() or None,
        "updated_at": now(),
    }
    updated = conn.execute(
        notification_profiles.update().where(notification_profiles.c.citizen_id == citizen_id).values(**values)
    )
    if updated.rowcount == 0:
        conn.execute(notification_profiles.insert().values(citizen_id=citizen_id, **values))


def tell_citizen(conn: Connection, citizen_id: int, notice: Notice, key: str, application_id: int | None) -> None:
    """The inbox always; plus email or SMS when the citizen chose it and gave an address."""
    conn.execute(
        inbox.insert().values(
            citizen_id=citizen_id,
            application_id=application_id,
            event=notice.event,
            message={"subject": dict(notice.subject), "body": dict(notice.body)},
            created_at=now(),
        )
    )
    chosen = profile(conn, citizen_id)
    lang = chosen.language
    if chosen.channel == "email" and chosen.email:
        payload = {"subject": notice.subject[lang], "body": notice.body[lang], "language": lang}
        outbox.enqueue(conn, "email", chosen.email, payload, f"{key}:email", application_id)
    elif chosen.channel == "sms" and chosen.phone:
        payload = {"text": notice.body[lang], "language": lang}
        outbox.enqueue(conn, "sms", chosen.phone, payload, f"{key}:sms", application_id)


def tell_office(conn: Connection, office: str, notice: Notice, application_id: int | None) -> None:
    conn.execute(
        inbox.insert().values(
            office=office,
            application_id=application_id,
            event=notice.event,
            message={"subject": dict(notice.subject), "body": dict(notice.body)},
            created_at=now(),
        )
    )


def citizen_inbox(conn: Connection, citizen_id: int, limit: int = 100) -> list[Mapping[str, Any]]:
    rows = conn.execute(
        sa.select(inbox).where(inbox.c.citizen_id == citizen_id).order_by(inbox.c.id.desc()).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def office_inbox(conn: Connection, office: str, limit: int = 100) -> list[Mapping[str, Any]]:
    rows = conn.execute(
        sa.select(inbox).where(inbox.c.office == office).order_by(inbox.c.id.desc()).limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
