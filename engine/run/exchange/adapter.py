"""The registry adapter interface: an operation and a key in, a typed result (or an error as data) out.

Every adapter answers only the attributes the operation declares in `_shared/registries.yaml`
(`returns`); anything else a registry sends is dropped here, so services only ever see declared data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.compile.model import RegistryOperation

OK = "ok"
NOT_FOUND = "not_found"
ERROR = "error"
TIMEOUT = "timeout"
NO_CONSENT = "no_consent"


@dataclass(frozen=True)
class RegistryKey:
    """What a call is about: a citizen's register number, a plate, a company register …"""

    kind: str  # citizen | company_register | plate_number | parcel_id | property_number | vin | passport_number
    value: str
    citizen: str | None = None  # the consenting citizen's register number, sent with every call


@dataclass(frozen=True)
class RegistryResult:
    operation: str
    status: str  # ok | not_found | error | timeout
    data: Mapping[str, Any] = field(default_factory=dict)
    source: str = "local"
    detail: str | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status == OK


class RegistryAdapter(Protocol):
    name: str

    def fetch(self, operation: RegistryOperation, key: RegistryKey) -> RegistryResult: ...


def declared(operation: RegistryOperation, data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the attributes the operation declares, in its order."""
    return {name: data[name] for name in operation.returns if name in data}


class FailingRegistry:
    """An adapter whose every call fails, as an unreachable exchange does (tests, outage drills)."""

    name = "unavailable"

    def __init__(self, status: str = TIMEOUT) -> None:
        self.status = status

    def fetch(self, operation: RegistryOperation, key: RegistryKey) -> RegistryResult:
        return RegistryResult(operation.id, self.status, source=self.name, detail="registry unavailable")
