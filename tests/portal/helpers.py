"""Shortcuts for guarantee tests: a submitted case in one call, and sign-ins on a live server."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.portal.conftest import Client

ANSWERS = {"applicant_register": "УБ99032112", "applicant_phone": "99112233", "reason": "lost", "copies": 1}


def api_submit(citizen: Client, district: str = "bayangol", **extra: Any) -> dict[str, Any]:
    """Submit a valid application through the JSON API; returns its status document."""
    token = citizen.get("/api/session").json()["csrf_token"]
    answers = {**ANSWERS, "district": district, "khoroo": "1", **extra}
    response = citizen.post(
        "/api/services/test-certificate/applications", json={"answers": answers}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def live_staff(base_url: str, username: str, password: str) -> tuple[httpx.Client, str]:
    """An officer signed in on a live server; returns the client and its CSRF token."""
    client = httpx.Client(base_url=base_url, follow_redirects=True, timeout=30)
    page = client.get("/staff/login")
    token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    page = client.post("/staff/login", data={"csrf": token, "username": username, "password": password})
    assert "/staff" in str(page.url) and page.status_code == 200
    return client, _CSRF.search(page.text).group(1)  # type: ignore[union-attr]


def live_citizen(base_url: str, register: str = "УБ99032112") -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base_url, follow_redirects=True, timeout=30)
    page = client.get("/login")
    token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    page = client.post("/login", data={"csrf": token, "register_number": register, "next": "/my"})
    assert page.status_code == 200
    return client, _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
