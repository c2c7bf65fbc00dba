"""The HTTP adapter: calls a real exchange endpoint (an ХУР gateway) configured by settings.

Contract (tests/exchange/test_http_adapter.py runs it against a loopback stub):
  POST {url}/operations/{operation}
  headers  Authorization: Bearer {token} (when set), Content-Type: application/json
  body     {"operation": "WS100101", "key": {"kind": "citizen", "value": "УБ99032112"}, "citizen": "УБ99032112"}
  200      {"data": {attribute: value, …}}  → ok, only the operation's declared attributes kept
  404      → not_found;  any other status, a malformed body or a refused connection → error;
  no answer within `timeout` seconds → timeout.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from engine.compile.model import RegistryOperation
from engine.run.exchange.adapter import ERROR, NOT_FOUND, OK, TIMEOUT, RegistryKey, RegistryResult, declared


@dataclass(frozen=True)
class ExchangeSettings:
    url: str | None = None
    token: str | None = None
    timeout: float = 5.0

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None) -> ExchangeSettings:
        env = os.environ if env is None else env
        try:
            timeout = float(env.get("TSONKH_XYP_TIMEOUT", "5"))
        except ValueError:
            timeout = 5.0
        return ExchangeSettings(env.get("TSONKH_XYP_URL") or None, env.get("TSONKH_XYP_TOKEN") or None, timeout)


class HttpRegistry:
    name = "http"

    def __init__(self, url: str, token: str | None = None, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def fetch(self, operation: RegistryOperation, key: RegistryKey) -> RegistryResult:
        started = time.monotonic()

        def result(status: str, data: Mapping[str, object] | None = None, detail: str | None = None) -> RegistryResult:
            elapsed = int((time.monotonic() - started) * 1000)
            return RegistryResult(operation.id, status, data or {}, self.name, detail, elapsed)

        body = json.dumps(
            {"operation": operation.id, "key": {"kind": key.kind, "value": key.value}, "citizen": key.citizen},
            ensure_ascii=False,
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = f"{self.url}/operations/{urllib.parse.quote(operation.id)}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return result(NOT_FOUND)
            return result(ERROR, detail=f"HTTP {err.code}")
        except TimeoutError:
            return result(TIMEOUT, detail=f"no answer in {self.timeout:g}s")
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                return result(TIMEOUT, detail=f"no answer in {self.timeout:g}s")
            return result(ERROR, detail=str(err.reason)[:200])
        except (ValueError, OSError) as err:
            return result(ERROR, detail=f"bad answer: {err}"[:200])
        data = payload.get("data") if isinstance(payload, Mapping) else None
        if not isinstance(data, Mapping):
            return result(ERROR, detail="bad answer: no data")
        return result(OK, declared(operation, data))
