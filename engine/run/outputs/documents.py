"""Issue, store, supersede and revoke documents; each is rendered once from a template in renderers/documents.

The template is chosen by the document kind a workflow effect names (`{issue: <kind>}`):
`renderers/documents/<kind>.html` when a service family has its own layout, otherwise the
generic one its name suggests (certificate, permit, licence, decision, refusal, document). The
rendered HTML is stored with its SHA-256 and never re-rendered: what the citizen downloads and
what /verify confirms is exactly what was issued.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Connection

from engine.compile.model import I18n
from engine.compile.service import Service
from engine.run import audit
from engine.run.db import citizens, now
from engine.run.delivery_db import issued_documents

DOCUMENTS = Path(__file__).resolve().parents[3] / "renderers" / "documents"
# Generic layouts, matched against the kind's words in this order: a refusal is checked before a decision.
GENERIC = (
    ("refusal", ("refusal", "rejection", "refuse")),
    ("licence", ("licence", "license")),
    ("permit", ("permit", "permission", "visa", "voucher")),
    ("certificate", ("certificate", "card", "passport", "diploma", "reference", "extract", "copy")),
    ("decision", ("decision", "order", "resolution", "conclusion", "approval", "act", "notice", "acknowledgement")),
)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Issued:
    number: str
    code: str
    sha256: str
    superseded: tuple[str, ...] = ()


def template_for(kind: str, root: Path = DOCUMENTS) -> str:
    if (root / f"{kind}.html").is_file():
        return f"{kind}.html"
    words = kind.lower().replace("-", "_").split("_")
    for layout, stems in GENERIC:
        if any(word.startswith(stem) for word in words for stem in stems):
            return f"{layout}.html"
    return "document.html"


@lru_cache(maxsize=4)
def _environment(root: str) -> Environment:
    return Environment(loader=FileSystemLoader(root), autoescape=select_autoescape(default=True), trim_blocks=True)


def initials(name: str | None) -> str:
    """Only initials leave the office: "Батын Дорж" → "Б. Д."."""
    parts = [p for p in (name or "").replace(".", " ").split() if p]
    return " ".join(f"{p[0].upper()}." for p in parts) or "—"


def kind_title(kind: str, document_types: Mapping[str, Any]) -> I18n:
    known = document_types.get(kind)
    if known is not None and getattr(known, "title", None) is not None:
        title: I18n = known.title
        return title
    words = kind.replace("_", " ").replace("-", " ")
    return I18n(words, words[:1].upper() + words[1:])


def new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def issue(
    conn: Connection,
    *,
    app: Mapping[str, Any],
    service: Service,
    kind: str,
    registries: Any,
    officer: str,
    decision: Mapping[str, Any],
    public_url: str,
    root: Path = DOCUMENTS,
) -> Issued:
    """Render and store one document for a case, superseding the valid one of the same kind; audited."""
    citizen = conn.execute(sa.select(citizens).where(citizens.c.id == app["citizen_id"])).mappings().first()
    holder = str(citizen["name"] or "") if citizen is not None else ""
    existing = conn.execute(
        sa.select(sa.func.count()).select_from(issued_documents).where(issued_documents.c.application_id == app["id"])
    ).scalar_one()
    number = f"{app['tracking']}-{int(existing) + 1}"
    code = new_code()
    issued_at = now()
    template = template_for(kind, root)
    agency = registries.agencies.get(service.agency)
    office = registries.offices.get(app["office"])
    title = kind_title(kind, registries.document_types)
    context = {
        "document": {
            "number": number,
            "code": code,
            "kind": kind,
            "title": title,
            "issued_at": issued_at,
            "issued_on": issued_at[:10],
            "verify_url": f"{public_url}/verify/{code}",
        },
        "service": service,
        "answers": app["answers"],
        "fields": {f.id: f for f in service.fields},
        "decision": decision,
        "officer": officer,
        "applicant": {"name": holder, "initials": initials(holder)},
        "agency": agency.name if agency else I18n(service.agency, service.agency),
        "office": office.name if office else I18n(app["office"], app["office"]),
        "tracking": app["tracking"],
    }
    html = _environment(str(root)).get_template(template).render(context)
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    superseded = _supersede(conn, app, kind, number, officer)
    conn.execute(
        issued_documents.insert().values(
            number=number,
            code=code,
            application_id=app["id"],
            citizen_id=app["citizen_id"],
            service_id=service.id,
            kind=kind,
            template=template,
            title={"mn": title.mn, "en": title.en},
            agency=service.agency,
            office=app["office"],
            holder_initials=initials(holder),
            issued_by=officer,
            issued_at=issued_at,
            html=html,
            sha256=digest,
            status="valid",
        )
    )
    audit.append(
        conn,
        application_id=app["id"],
        actor=officer,
        role="system",
        office=app["office"],
        action="issue_document",
        comment=f"{kind} {number} sha256={digest}",
    )
    return Issued(number, code, digest, superseded)


def _supersede(conn: Connection, app: Mapping[str, Any], kind: str, by: str, actor: str) -> tuple[str, ...]:
    rows = conn.execute(
        sa.select(issued_documents.c.number).where(
            issued_documents.c.application_id == app["id"],
            issued_documents.c.kind == kind,
            issued_documents.c.status == "valid",
        )
    ).scalars()
    numbers = tuple(rows)
    for old in numbers:
        conn.execute(
            issued_documents.update()
            .where(issued_documents.c.number == old)
            .values(status="superseded", status_at=now(), superseded_by=by)
        )
        audit.append(
            conn,
            application_id=app["id"],
            actor=actor,
            role="system",
            office=app["office"],
            action="supersede_document",
            comment=f"{old} by {by}",
        )
    return numbers


def revoke(
    conn: Connection, app: Mapping[str, Any], kind: str | None, actor: str, role: str, reason: str | None
) -> tuple[str, ...]:
    """Revoke the case's valid documents (of `kind`, or all); each revocation is an audit record."""
    query = sa.select(issued_documents.c.number).where(
        issued_documents.c.application_id == app["id"], issued_documents.c.status == "valid"
    )
    if kind:
        query = query.where(issued_documents.c.kind == kind)
    numbers = tuple(conn.execute(query).scalars())
    for number in numbers:
        conn.execute(
            issued_documents.update()
            .where(issued_documents.c.number == number, issued_documents.c.status == "valid")
            .values(status="revoked", status_at=now(), status_reason=(reason or "").strip() or None)
        )
        audit.append(
            conn,
            application_id=app["id"],
            actor=actor,
            role=role,
            office=app["office"],
            action="revoke_document",
            comment=f"{number}: {reason}" if reason else number,
        )
    return numbers


def by_code(conn: Connection, code: str) -> Mapping[str, Any] | None:
    row = conn.execute(sa.select(issued_documents).where(issued_documents.c.code == code.strip().upper())).mappings()
    found = row.first()
    return dict(found) if found else None


def by_number(conn: Connection, number: str) -> Mapping[str, Any] | None:
    row = conn.execute(sa.select(issued_documents).where(issued_documents.c.number == number)).mappings().first()
    return dict(row) if row else None


def of_citizen(conn: Connection, citizen_id: int) -> list[Mapping[str, Any]]:
    rows = conn.execute(
        sa.select(
            *[c for c in issued_documents.c if c.name != "html"],
        )
        .where(issued_documents.c.citizen_id == citizen_id)
        .order_by(issued_documents.c.id.desc())
    ).mappings()
    return [dict(r) for r in rows]


def of_application(conn: Connection, application_id: int) -> list[Mapping[str, Any]]:
    """A case's issued documents (without their HTML), newest first: for its case pages."""
    rows = conn.execute(
        sa.select(*[c for c in issued_documents.c if c.name != "html"])
        .where(issued_documents.c.application_id == application_id)
        .order_by(issued_documents.c.id.desc())
    ).mappings()
    return [dict(r) for r in rows]


def intact(document: Mapping[str, Any]) -> bool:
    """The stored HTML still matches the hash recorded when it was issued."""
    return hashlib.sha256(str(document["html"]).encode("utf-8")).hexdigest() == document["sha256"]
