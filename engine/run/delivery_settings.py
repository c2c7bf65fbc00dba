"""Settings for everything that leaves the system: SMTP, the SMS gateway, agency webhooks and the worker.

Read from the environment beside `engine.run.settings` (kept apart so delivery can be configured
without touching the portal's settings). Agency endpoints come from a YAML file named by
TSONKH_AGENCY_ENDPOINTS: `<agency id>: {url: https://…, secret: …}`; a secret may instead be
given as `secret_env: NAME` to read it from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "noreply@tsonkh.local"
    username: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class SmsSettings:
    url: str  # the gateway accepts POST {"to": …, "text": …} as JSON
    token: str | None = None
    sender: str = "TSONKH"


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str


@dataclass(frozen=True)
class DeliverySettings:
    smtp: SmtpSettings | None = None
    sms: SmsSettings | None = None
    endpoints: Mapping[str, Endpoint] = field(default_factory=dict)  # agency id → its webhook
    public_url: str = "http://127.0.0.1:8000"
    timeout: float = 10.0
    interval: float = 5.0  # seconds between worker passes
    run_in_serve: bool = True  # the embedded setup runs the worker inside `tsonkh serve`


def load_endpoints(path: Path) -> dict[str, Endpoint]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = {}
    for agency, spec in data.items():
        secret = spec.get("secret") or os.environ.get(str(spec.get("secret_env", "")), "")
        out[str(agency)] = Endpoint(str(spec["url"]), str(secret))
    return out


def load_delivery_settings(env: Mapping[str, str] | None = None) -> DeliverySettings:
    env = dict(os.environ if env is None else env)
    smtp = None
    if env.get("TSONKH_SMTP_HOST"):
        smtp = SmtpSettings(
            host=env["TSONKH_SMTP_HOST"],
            port=int(env.get("TSONKH_SMTP_PORT", "25")),
            sender=env.get("TSONKH_SMTP_FROM", "noreply@tsonkh.local"),
            username=env.get("TSONKH_SMTP_USER") or None,
            password=env.get("TSONKH_SMTP_PASSWORD") or None,
            starttls=env.get("TSONKH_SMTP_STARTTLS", "0") == "1",
        )
    sms = None
    if env.get("TSONKH_SMS_URL"):
        sms = SmsSettings(
            env["TSONKH_SMS_URL"], env.get("TSONKH_SMS_TOKEN") or None, env.get("TSONKH_SMS_SENDER", "TSONKH")
        )
    endpoints = load_endpoints(Path(env["TSONKH_AGENCY_ENDPOINTS"])) if env.get("TSONKH_AGENCY_ENDPOINTS") else {}
    return DeliverySettings(
        smtp=smtp,
        sms=sms,
        endpoints=endpoints,
        public_url=env.get("TSONKH_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        timeout=float(env.get("TSONKH_DELIVERY_TIMEOUT", "10")),
        interval=float(env.get("TSONKH_WORKER_INTERVAL", "5")),
        run_in_serve=env.get("TSONKH_WORKER_IN_SERVE", "1") == "1",
    )
