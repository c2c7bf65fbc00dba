"""Channels behind one interface: each delivers one outbox message or raises `DeliveryError`.

Email goes over SMTP, SMS to an HTTP gateway, and a decided case to its agency's system as a
signed webhook. The in-portal inbox needs no channel: it is written directly in the action's
transaction (engine.run.notify.inbox), so it always works.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Protocol

from engine.run.delivery_settings import DeliverySettings
from engine.run.outbox import Message

SIGNATURE_HEADER = "X-Tsonkh-Signature"
TIMESTAMP_HEADER = "X-Tsonkh-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(Exception):
    """A delivery attempt failed; the outbox retries it later."""


class Channel(Protocol):
    def send(self, message: Message) -> None: ...


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": the receiver recomputes it with the shared secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers={**headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # only configured endpoints
            if not 200 <= response.status < 300:
                raise DeliveryError(f"HTTP {response.status}")
    except urllib.error.HTTPError as err:
        raise DeliveryError(f"HTTP {err.code}") from err
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise DeliveryError(f"{type(err).__name__}: {err}") from err


class EmailChannel:
    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings

    def send(self, message: Message) -> None:
        smtp = self.settings.smtp
        if smtp is None:
            raise DeliveryError("SMTP is not configured (TSONKH_SMTP_HOST)")
        email = EmailMessage()
        email["From"] = smtp.sender
        email["To"] = message.destination
        email["Subject"] = str(message.payload.get("subject", ""))
        email["Message-ID"] = f"<{message.idempotency_key}@tsonkh>"  # the same message id on every retry
        email.set_content(str(message.payload.get("body", "")))
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=self.settings.timeout) as client:
                if smtp.starttls:
                    client.starttls()
                if smtp.username:
                    client.login(smtp.username, smtp.password or "")
                client.send_message(email)
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"{type(err).__name__}: {err}") from err


class SmsChannel:
    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings

    def send(self, message: Message) -> None:
        sms = self.settings.sms
        if sms is None:
            raise DeliveryError("the SMS gateway is not configured (TSONKH_SMS_URL)")
        body = canonical_json({"to": message.destination, "text": message.payload.get("text", ""), "from": sms.sender})
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: message.idempotency_key}
        if sms.token:
            headers["Authorization"] = f"Bearer {sms.token}"
        _post(sms.url, body, headers, self.settings.timeout)


class WebhookChannel:
    """The case, as JSON, to its agency's endpoint: signed, with the idempotency key as a header."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings

    def send(self, message: Message) -> None:
        endpoint = self.settings.endpoints.get(message.destination)
        if endpoint is None:
            raise DeliveryError(f"no endpoint configured for agency {message.destination!r}")
        body = canonical_json(message.payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        }
        _post(endpoint.url, body, headers, self.settings.timeout)


def channels(settings: DeliverySettings) -> dict[str, Channel]:
    return {"email": EmailChannel(settings), "sms": SmsChannel(settings), "webhook": WebhookChannel(settings)}
