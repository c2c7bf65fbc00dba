"""Who is acting: citizens (a pluggable login — development login by register number, or OpenID
Connect such as ДАН) and staff (username + argon2 password, one office, roles from the registry)."""

from __future__ import annotations

import json
import secrets
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.compile import mongolia
from engine.compile.model import Office
from engine.run.db import citizens, now, staff
from engine.run.settings import OidcSettings

_hasher = PasswordHasher()
# Compared against when a username does not exist, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Citizen:
    id: int
    subject: str
    register_number: str | None
    name: str | None
    phone: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.register_number or self.subject


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    name: str
    office: str
    roles: frozenset[str]


# --- citizens ------------------------------------------------------------------------------------
def citizen_by_subject(
    conn: Connection, subject: str, register_number: str | None, name: str | None, phone: str | None = None
) -> Citizen:
    """Find or create the citizen a login provider vouched for."""
    row = conn.execute(sa.select(citizens).where(citizens.c.subject == subject)).mappings().first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    citizens.insert().values(
                        subject=subject, register_number=register_number, name=name, phone=phone, created_at=now()
                    )
                )
        except IntegrityError:
            pass
        row = conn.execute(sa.select(citizens).where(citizens.c.subject == subject)).mappings().one()
    return Citizen(row["id"], row["subject"], row["register_number"], row["name"], row["phone"])


def citizen_by_id(conn: Connection, citizen_id: int) -> Citizen | None:
    row = conn.execute(sa.select(citizens).where(citizens.c.id == citizen_id)).mappings().first()
    if row is None:
        return None
    return Citizen(row["id"], row["subject"], row["register_number"], row["name"], row["phone"])


def dev_login(conn: Connection, register_number: str, name: str | None) -> Citizen | None:
    """The development provider: anyone may be anyone with a well-formed register number."""
    value = mongolia.normalise_register(register_number or "")
    if not mongolia.REGISTER.fullmatch(value) or mongolia.register_birth_date(value) is None:
        return None
    return citizen_by_subject(conn, f"dev:{value}", value, (name or "").strip()[:200] or None)


class OidcProvider:
    """Authorization-code login against an OpenID Connect provider, configured by settings.

    Identity comes from the userinfo endpoint over TLS with the access token, so no token
    signature handling is needed here; `state` and `nonce` guard the redirect.
    """

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._discovery: Mapping[str, Any] | None = None

    def discovery(self) -> Mapping[str, Any]:
        if self._discovery is None:
            url = self.settings.issuer + "/.well-known/openid-configuration"
            with urllib.request.urlopen(url, timeout=10) as response:
                self._discovery = json.load(response)
        return self._discovery

    def authorize_url(self, state: str, nonce: str) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.settings.redirect_uri,
                "scope": self.settings.scope,
                "state": state,
                "nonce": nonce,
            }
        )
        return f"{self.discovery()['authorization_endpoint']}?{query}"

    def identity(self, code: str) -> dict[str, Any]:
        """Exchange the code for tokens, then read the citizen's claims from userinfo."""
        body = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
            }
        ).encode()
        request = urllib.request.Request(self.discovery()["token_endpoint"], data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            tokens = json.load(response)
        info_request = urllib.request.Request(
            self.discovery()["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        with urllib.request.urlopen(info_request, timeout=10) as response:
            claims: dict[str, Any] = json.load(response)
        return claims

    def login(self, conn: Connection, claims: Mapping[str, Any]) -> Citizen:
        register = claims.get(self.settings.register_claim)
        name = " ".join(str(claims[k]) for k in ("family_name", "given_name") if claims.get(k)) or claims.get("name")
        return citizen_by_subject(
            conn,
            f"oidc:{claims['sub']}",
            mongolia.normalise_register(str(register)) if register else None,
            name,
            claims.get("phone_number"),
        )


# --- staff ---------------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_staff(
    conn: Connection,
    username: str,
    password: str | None,
    name: str,
    office: str,
    roles: Iterable[str],
    demo: bool = False,
    password_hash: str | None = None,
) -> int:
    values = {
        "username": username,
        "password_hash": password_hash or hash_password(password or secrets.token_urlsafe(16)),
        "name": name,
        "office": office,
        "roles": sorted(roles),
        "demo": demo,
        "created_at": now(),
    }
    result = conn.execute(staff.insert().values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def staff_login(conn: Connection, username: str, password: str) -> Staff | None:
    row = conn.execute(sa.select(staff).where(staff.c.username == (username or "").strip())).mappings().first()
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        conn.execute(staff.update().where(staff.c.id == row["id"]).values(password_hash=hash_password(password)))
    return _staff(dict(row))


def staff_by_id(conn: Connection, staff_id: int) -> Staff | None:
    row = conn.execute(sa.select(staff).where(staff.c.id == staff_id)).mappings().first()
    return _staff(dict(row)) if row else None


def office_staff(conn: Connection, office: str) -> list[Staff]:
    rows = conn.execute(sa.select(staff).where(staff.c.office == office).order_by(staff.c.username)).mappings()
    return [_staff(dict(r)) for r in rows]


def _staff(row: Mapping[str, Any]) -> Staff:
    roles = row["roles"]
    if isinstance(roles, str):
        roles = json.loads(roles)
    return Staff(row["id"], row["username"], row["name"], row["office"], frozenset(roles))


def ensure_demo_staff(conn: Connection, offices: Mapping[str, Office]) -> str | None:
    """On first start: one demo account per office (username = office id, all the office's roles).

    Returns the one generated password when accounts were created now, else None (they exist).
    All demo accounts share one password so that it can be printed once on one line.
    """
    if conn.execute(sa.select(staff.c.id).where(staff.c.demo.is_(True)).limit(1)).first() is not None:
        return None
    if not offices:
        return None
    password = secrets.token_urlsafe(9)
    shared_hash = hash_password(password)
    for office_id, office in sorted(offices.items()):
        if conn.execute(sa.select(staff.c.id).where(staff.c.username == office_id)).first() is not None:
            continue
        create_staff(
            conn,
            office_id,
            None,
            f"{office.name.en} (demo)",
            office_id,
            office.roles,
            demo=True,
            password_hash=shared_hash,
        )
    return password
