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
from engine.run.db import PreparedInsert, citizens, now
from engine.run.delivery_db import inbox, notification_profiles
from engine.run.notify.messages import Notice

CHANNELS = ("inbox", "email", "sms")


@dataclass(frozen=True)
class Profile:
    channel: str = "inbox"
    language: str = "mn"
    email: str | None = None
    phone: str | None = None


# Built once and run with parameters (SQLAlchemy's statement cache): building a statement per notice cost
# more than the database's work. The profile and, for a citizen without one, the account's phone, in one read.
_PROFILE = (
    sa.select(
        notification_profiles.c.citizen_id.label("has_profile"),
        notification_profiles.c.channel,
        notification_profiles.c.language,
        notification_profiles.c.email,
        notification_profiles.c.phone,
        citizens.c.phone.label("account_phone"),
    )
    .select_from(citizens)
    .outerjoin(notification_profiles, notification_profiles.c.citizen_id == citizens.c.id)
    .where(citizens.c.id == sa.bindparam("citizen_id"))
)
_PROFILE_ONLY = sa.select(notification_profiles).where(notification_profiles.c.citizen_id == sa.bindparam("citizen_id"))
_INSERT = PreparedInsert(inbox)


def profile(conn: Connection, citizen_id: int) -> Profile:
    row = conn.execute(_PROFILE, {"citizen_id": citizen_id}).first()
    if row is None:  # no such account (the profiles table has no foreign key): a profile row alone, if any
        alone = conn.execute(_PROFILE_ONLY, {"citizen_id": citizen_id}).mappings().first()
        if alone is None:
            return Profile()
        return Profile(alone["channel"], alone["language"], alone["email"], alone["phone"])
    if row.has_profile is None:
        return Profile(phone=row.account_phone)
    return Profile(row.channel, row.language, row.email, row.phone)


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
    _INSERT(conn, _row(notice, application_id, citizen_id=citizen_id))
    chosen = profile(conn, citizen_id)
    lang = chosen.language
    if chosen.channel == "email" and chosen.email:
        payload = {"subject": notice.subject[lang], "body": notice.body[lang], "language": lang}
        outbox.enqueue(conn, "email", chosen.email, payload, f"{key}:email", application_id)
    elif chosen.channel == "sms" and chosen.phone:
        payload = {"text": notice.body[lang], "language": lang}
        outbox.enqueue(conn, "sms", chosen.phone, payload, f"{key}:sms", application_id)


def tell_office(conn: Connection, office: str, notice: Notice, application_id: int | None) -> None:
    _INSERT(conn, _row(notice, application_id, office=office))


def _row(
    notice: Notice, application_id: int | None, citizen_id: int | None = None, office: str | None = None
) -> dict[str, Any]:
    """An unread inbox row for a citizen or an office (every column: the prepared insert writes them all)."""
    return {
        "citizen_id": citizen_id,
        "office": office,
        "application_id": application_id,
        "event": notice.event,
        "message": {"subject": dict(notice.subject), "body": dict(notice.body)},
        "read_at": None,
        "created_at": now(),
    }


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
