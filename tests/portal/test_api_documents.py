"""The JSON API takes documents with the submission, under the same limits as the form's uploads."""

from __future__ import annotations

import base64
from typing import Any

from tests.portal.conftest import Client, PortalApp
from tests.portal.helpers import ANSWERS

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
URL = "/api/services/test-certificate/applications"


def post(citizen: Client, documents: Any = None, copies: int = 2) -> Any:
    token = citizen.get("/api/session").json()["csrf_token"]
    payload: dict[str, Any] = {"answers": {**ANSWERS, "copies": copies, "district": "khan_uul", "khoroo": "1"}}
    if documents is not None:
        payload["documents"] = documents
    return citizen.post(URL, json=payload, headers={"X-CSRF-Token": token})


def test_a_required_upload_can_come_with_the_submission(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    missing = post(citizen)
    assert missing.status_code == 422 and missing.json()["error"] == "documents_missing"
    sent = post(
        citizen, {"receipt": [{"name": "../../etc/receipt.pdf", "content_base64": base64.b64encode(PDF).decode()}]}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["state"] == "submitted"


def test_uploads_through_the_api_are_vetted_like_the_form(portal_app: PortalApp) -> None:
    citizen = portal_app.client()
    citizen.sign_in()
    disguised = post(
        citizen, {"receipt": [{"name": "r.pdf", "content_base64": base64.b64encode(b"MZ\x90\x00").decode()}]}
    )
    assert disguised.status_code == 422 and "receipt" in disguised.json()["documents"]
    too_many = post(citizen, {"receipt": [{"content_base64": base64.b64encode(PDF).decode()}] * 5})
    assert too_many.status_code == 422 and "receipt" in too_many.json()["documents"]
    unknown = post(citizen, {"nonsense": [{"content_base64": base64.b64encode(PDF).decode()}]})
    assert unknown.status_code == 422 and "nonsense" in unknown.json()["documents"]
    garbage = post(citizen, {"receipt": [{"content_base64": "%%% not base64"}]})
    assert garbage.status_code == 422
