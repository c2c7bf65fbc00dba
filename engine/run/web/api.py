"""The JSON API (submit, status, transitions), its OpenAPI description, and each service's submission schema.

The API uses the same session login as the pages; every POST must carry the session's CSRF token
in `X-CSRF-Token` (GET /api/session gives it). Submitting with an `Idempotency-Key` header makes
retries safe: the same key returns the application it already made.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.compile.service import Service
from engine.compile.submission_schema import submission_schema
from engine.run import audit, cases
from engine.run.db import drafts, now, uploads
from engine.run.web.app import LoginNeeded, Portal, portal_of
from engine.run.web.citizen import uploadable, vet_uploads
from engine.run.web.i18n import text

_STATUS = {"not_found": 404, "conflict": 409, "not_allowed": 403, "final": 409}


def actor(request: Request) -> cases.Actor:
    found = Portal.officer(request) or Portal.citizen(request)
    if found is None:
        raise LoginNeeded("/login", request.url.path)
    return found


async def body(request: Request) -> Mapping[str, Any]:
    portal_of(request).check_csrf(request, request.headers.get("x-csrf-token"))
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400) from None
    if not isinstance(data, Mapping):
        raise HTTPException(400)
    return data


def refusal(outcome: cases.Outcome, lang: str) -> JSONResponse:
    payload: dict[str, Any] = {"error": outcome.code, "message": text(outcome.code, lang)}
    if outcome.errors:
        payload["errors"] = [e.as_dict(lang) for e in outcome.errors]
    if outcome.missing_documents:
        payload["missing_documents"] = list(outcome.missing_documents)
    return JSONResponse(payload, status_code=_STATUS.get(outcome.code, 422))


def status_of(
    conn: Connection,
    portal: Portal,
    app: Mapping[str, Any],
    who: cases.Actor,
    lang: str,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`values` are the case's clean answers (cases.case_values) when the caller has them already."""
    service = portal.book.pinned(conn, app["definition_version"])
    assert service is not None
    state = service.workflow.states[app["state"]]
    if values is None:
        values = cases.case_values(service, app)
    return {
        "tracking": app["tracking"],
        "service": app["service_id"],
        "definition_version": app["definition_version"],
        "state": app["state"],
        "state_label": state.label.get(lang),
        "final": state.final,
        "outcome": state.outcome,
        "office": app["office"],
        "due_date": app["due_date"],
        "version": app["row_version"],
        "submitted_at": app["submitted_at"],
        "comment": app["last_comment"],
        "actions": [
            {
                "action": t.action,
                "label": t.label.get(lang),
                "requires_comment": t.requires_comment,
                "requires_fields": list(t.requires_fields),
            }
            for t in service.workflow.available(app["state"], who.roles, values)
        ],
        "history": [
            {k: r[k] for k in ("at", "actor", "role", "action", "from_state", "to_state", "comment")}
            for r in audit.history(conn, app["id"])
        ],
    }


async def session_info(request: Request) -> Response:
    portal = portal_of(request)
    who = Portal.officer(request) or Portal.citizen(request)
    return JSONResponse(
        {
            "csrf_token": portal.csrf_token(request),
            "user": None if who is None else {"kind": who.kind, "label": who.label, "office": who.office},
        }
    )


async def list_services(request: Request) -> Response:
    portal = portal_of(request)
    return JSONResponse(
        [
            {"id": s.id, "title": s.title.as_dict(), "agency": s.agency, "category": s.category, "version": s.version}
            for s in sorted(portal.book.services.values(), key=lambda s: s.id)
        ]
    )


async def schema(request: Request) -> Response:
    portal = portal_of(request)
    service = portal.book.get(request.path_params["service_id"])
    if service is None:
        raise HTTPException(404)
    return JSONResponse(_schema_of(service), media_type="application/schema+json")


_SCHEMAS: dict[str, dict[str, Any]] = {}


def _schema_of(service: Service) -> dict[str, Any]:
    """Built once per definition version: a version never changes, so neither does its schema."""
    found = _SCHEMAS.get(service.version)
    if found is None:
        found = _SCHEMAS[service.version] = submission_schema(service)
    return found


async def submit(request: Request) -> Response:
    portal = portal_of(request)
    who = actor(request)
    if who.kind != "citizen":
        raise HTTPException(403)
    data = await body(request)
    service = portal.book.get(request.path_params["service_id"])
    if service is None:
        raise HTTPException(404)
    answers = data.get("answers")
    if not isinstance(answers, Mapping):
        raise HTTPException(400)
    key = (request.headers.get("idempotency-key") or "").strip()[:100] or None
    lang = portal.lang(request)
    attached, problems = decode_documents(service, data.get("documents"), lang)
    if problems:
        return JSONResponse({"error": "documents_invalid", "documents": problems}, status_code=422)

    # Stored before the transaction, as the files' bytes do not depend on it: the writers' lock is not held
    # while they are hashed and written; on a worker thread, as a large document would hold up every other
    # request on the event loop. The store is content-addressed, so a replay (whose draft keeps the first
    # request's files) writes nothing new for the same files.
    def store_all() -> list[tuple[str, str, int, str, str]]:
        return [
            (doc_id, portal.store.put(content), len(content), kind, name)
            for doc_id, attached_files in attached.items()
            for content, kind, name in attached_files
        ]

    files = await run_in_threadpool(store_all) if attached else []

    keyed = f"{who.id}:{key}" if key is not None else None  # idempotency keys are per citizen

    def draft_with_key(conn: Connection) -> int | None:
        row = conn.execute(sa.select(drafts.c.id).where(drafts.c.idempotency_key == keyed)).first()
        return row[0] if row else None

    def create_and_submit(conn: Connection) -> tuple[cases.Outcome, dict[str, Any] | None]:
        if keyed is None:
            draft_id = new_draft(conn, None)  # no savepoint: nothing here can collide
        else:
            found = draft_with_key(conn)
            if found is None:
                try:
                    with conn.begin_nested():
                        found = new_draft(conn, keyed)
                except IntegrityError:  # the same key in a request at the same time: that one's draft
                    found = draft_with_key(conn)
                    assert found is not None
            draft_id = found
        outcome = cases.submit(conn, portal.book, draft_id, who, dt.date.today())
        if not outcome.ok or outcome.application is None:
            return outcome, None
        # The status is read in the submission's own transaction: one thread hop and one commit, not two.
        return outcome, status_of(conn, portal, outcome.application, who, lang, outcome.values)

    def new_draft(conn: Connection, idempotency_key: str | None) -> int:
        """The draft and its files; a replayed request (same key) reuses the first one's instead."""
        draft_id = cases.create_draft(conn, who.id, service.id, answers, idempotency_key=idempotency_key)
        record_uploads(conn, draft_id, files)
        return draft_id

    outcome, payload = await portal.run(create_and_submit)
    if payload is None:
        return refusal(outcome, lang)
    return JSONResponse(payload, status_code=200 if outcome.details.get("repeated") else 201)


def record_uploads(conn: Connection, draft_id: int, files: list[tuple[str, str, int, str, str]]) -> None:
    """The draft's uploads `(document id, digest, size, sniffed type, clean name)`, in one statement.

    The rows `citizen.record_upload` writes one at a time; SQLAlchemy's cost is per statement."""
    if not files:
        return
    stamp = now()
    conn.execute(
        uploads.insert(),
        [
            {
                "draft_id": draft_id,
                "application_id": None,
                "document_id": doc_id,
                "sha256": digest,
                "size": size,
                "content_type": kind,
                "display_name": name,
                "created_at": stamp,
            }
            for doc_id, digest, size, kind, name in files
        ],
    )


def decode_documents(
    service: Service, raw: Any, lang: str
) -> tuple[dict[str, list[tuple[bytes, str, str]]], dict[str, list[str]]]:
    """`{"documents": {doc_id: [{"name": …, "content_base64": …}]}}` → vetted files per document.

    The same limits as the form's uploads (count, size, sniffed type) apply, through `vet_uploads`."""
    if raw is None:
        return {}, {}
    if not isinstance(raw, Mapping):
        return {}, {"": [text("upload_no_file", lang)]}
    known = {d.id: d for d in uploadable(service)}
    attached: dict[str, list[tuple[bytes, str, str]]] = {}
    problems: dict[str, list[str]] = {}
    for doc_id, items in raw.items():
        doc = known.get(str(doc_id))
        if doc is None or not isinstance(items, list):
            problems[str(doc_id)] = [text("upload_no_file", lang)]
            continue
        decoded: list[tuple[bytes, str | None]] = []
        for item in items:
            content = item.get("content_base64") if isinstance(item, Mapping) else None
            try:
                data = base64.b64decode(content, validate=True) if isinstance(content, str) else None
            except (binascii.Error, ValueError):
                data = None
            if data is None:
                problems[str(doc_id)] = [text("upload_empty", lang)]
                break
            name = item.get("name")
            decoded.append((data, name if isinstance(name, str) else None))
        if str(doc_id) in problems:
            continue
        errors, accepted = vet_uploads(doc, decoded, 0, lang)
        if errors:
            problems[str(doc_id)] = errors
        else:
            attached[doc.id] = accepted
    return attached, problems


async def status(request: Request) -> Response:
    portal = portal_of(request)
    who = actor(request)
    lang = portal.lang(request)

    def load(conn: Connection) -> dict[str, Any] | None:
        app = cases.by_tracking(conn, request.path_params["tracking"])
        if not cases.visible_to(who, app):
            return None
        assert app is not None
        return status_of(conn, portal, app, who, lang)

    payload = await portal.read(load)
    if payload is None:
        raise HTTPException(404)
    return JSONResponse(payload)


async def transition(request: Request) -> Response:
    portal = portal_of(request)
    who = actor(request)
    data = await body(request)
    lang = portal.lang(request)
    version = data.get("version")
    if not isinstance(version, int) or not isinstance(data.get("action"), str):
        raise HTTPException(400)
    fields = data.get("fields") if isinstance(data.get("fields"), Mapping) else {}

    def act(conn: Connection) -> tuple[cases.Outcome, dict[str, Any] | None]:
        app = cases.by_tracking(conn, request.path_params["tracking"])
        if not cases.visible_to(who, app):
            return cases.Outcome(False, "not_found"), None
        assert app is not None
        outcome = cases.fire(
            conn, portal.book, app["id"], who, data["action"], data.get("comment"), version, dt.date.today(), fields
        )
        if not outcome.ok or outcome.application is None:
            return outcome, None
        return outcome, status_of(conn, portal, outcome.application, who, lang)

    outcome, payload = await portal.run(act)
    if payload is None:
        return refusal(outcome, lang)
    return JSONResponse(payload)


def openapi() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    status_ref = {"$ref": "#/components/schemas/Status"}
    csrf = {"name": "X-CSRF-Token", "in": "header", "required": True, "schema": {"type": "string"}}
    tracking = {"name": "tracking", "in": "path", "required": True, "schema": {"type": "string"}}

    def responses(ok: str, ok_schema: Any, *codes: int) -> dict[str, Any]:
        out: dict[str, Any] = {ok: {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
        for code in codes:
            out[str(code)] = {"description": "Refused", "content": {"application/json": {"schema": error}}}
        return out

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tsonkh single-window portal API",
            "version": "1",
            "description": "Sign in through the portal (session cookie); send the CSRF token with every POST.",
        },
        "paths": {
            "/api/session": {
                "get": {"summary": "The session's CSRF token and user", "responses": {"200": {"description": "OK"}}}
            },
            "/api/services": {"get": {"summary": "The services offered", "responses": {"200": {"description": "OK"}}}},
            "/services/{service_id}/schema.json": {
                "get": {
                    "summary": "JSON Schema of a submission to this service",
                    "parameters": [
                        {"name": "service_id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "A JSON Schema (2020-12)"}},
                }
            },
            "/api/services/{service_id}/applications": {
                "post": {
                    "summary": "Submit an application (citizen)",
                    "parameters": [
                        {"name": "service_id", "in": "path", "required": True, "schema": {"type": "string"}},
                        csrf,
                        {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["answers"],
                                    "properties": {
                                        "answers": {
                                            "type": "object",
                                            "description": "see /services/{service_id}/schema.json",
                                        },
                                        "documents": {
                                            "type": "object",
                                            "description": "document id → files; the form's limits apply",
                                            "additionalProperties": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "required": ["content_base64"],
                                                    "properties": {
                                                        "name": {"type": "string"},
                                                        "content_base64": {"type": "string"},
                                                    },
                                                },
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses("201", status_ref, 401, 403, 404, 422),
                }
            },
            "/api/applications/{tracking}": {
                "get": {
                    "summary": "Status, history and the actions this user may take",
                    "parameters": [tracking],
                    "responses": responses("200", status_ref, 401, 404),
                }
            },
            "/api/applications/{tracking}/transitions": {
                "post": {
                    "summary": "Take a workflow action",
                    "parameters": [tracking, csrf],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["action", "version"],
                                    "properties": {
                                        "action": {"type": "string"},
                                        "version": {
                                            "type": "integer",
                                            "description": "the status's version (optimistic lock)",
                                        },
                                        "comment": {"type": "string"},
                                        "fields": {"type": "object"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses("200", status_ref, 401, 403, 404, 409, 422),
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                        "missing_documents": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Status": {
                    "type": "object",
                    "properties": {
                        "tracking": {"type": "string"},
                        "service": {"type": "string"},
                        "state": {"type": "string"},
                        "state_label": {"type": "string"},
                        "final": {"type": "boolean"},
                        "version": {"type": "integer"},
                        "office": {"type": "string"},
                        "due_date": {"type": "string", "format": "date"},
                        "actions": {"type": "array", "items": {"type": "object"}},
                        "history": {"type": "array", "items": {"type": "object"}},
                    },
                },
            }
        },
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi())


def routes() -> list[Route]:
    return [
        Route("/openapi.json", openapi_json),
        Route("/services/{service_id}/schema.json", schema),
        Route("/api/session", session_info),
        Route("/api/services", list_services),
        Route("/api/services/{service_id}/applications", submit, methods=["POST"]),
        Route("/api/applications/{tracking}", status),
        Route("/api/applications/{tracking}/transitions", transition, methods=["POST"]),
    ]
