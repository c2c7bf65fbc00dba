"""Which key each exchange operation is asked by, and which kind of registry record answers it.

Both are data in the shared registry (`registry_operations: <op>: key: {by, record}`); an
operation without `key` is asked by the consenting citizen's own register number and answered
from their person record.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.compile.model import RegistryOperation

CITIZEN = "citizen"


@dataclass(frozen=True)
class OperationKey:
    key: str  # CITIZEN, or the field type whose answer is the key (plate_number, company_register …)
    record: str  # the local registry's record kind: person | company | vehicle | parcel | property


def key_of(operation: RegistryOperation) -> OperationKey:
    return OperationKey(operation.key_by, operation.record)
