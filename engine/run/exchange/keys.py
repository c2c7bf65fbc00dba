"""Which key each exchange operation is asked by, and which kind of registry record answers it.

The shared registry lists operations and what they return; how each is keyed is the exchange's
contract, kept here as data. An operation not listed is asked by the consenting citizen's own
register number and answered from their person record.
"""

from __future__ import annotations

from dataclasses import dataclass

CITIZEN = "citizen"


@dataclass(frozen=True)
class OperationKey:
    key: str  # CITIZEN, or the field type whose answer is the key (plate_number, company_register …)
    record: str  # the local registry's record kind: person | company | vehicle | parcel | property


_ENTITY = {
    "company_register": "company",
    "plate_number": "vehicle",
    "vin": "vehicle",
    "parcel_id": "parcel",
    "property_number": "property",
}

OPERATION_KEYS: dict[str, OperationKey] = {
    "WS100301": OperationKey("company_register", "company"),
    "WS100307": OperationKey("company_register", "company"),
    "WS100325": OperationKey("company_register", "company"),
    "WS100401": OperationKey("plate_number", "vehicle"),
    "WS100403": OperationKey("plate_number", "vehicle"),
    "WS100409": OperationKey("plate_number", "vehicle"),
    "WS100610": OperationKey("plate_number", "vehicle"),
    "WS100411": OperationKey("vin", "vehicle"),
    "WS100201": OperationKey("property_number", "property"),
    "WS100202": OperationKey(CITIZEN, "property"),  # the citizen's own properties
    "WS100218": OperationKey("parcel_id", "parcel"),
    "WS100222": OperationKey("parcel_id", "parcel"),
}


def key_of(operation: str) -> OperationKey:
    return OPERATION_KEYS.get(operation, OperationKey(CITIZEN, "person"))
