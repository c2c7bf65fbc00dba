"""Mongolian identifiers: citizen register numbers (РД), phones, plates and other codes.

The rules come from `shared/catalog/reference.md` §1–§3. The register number's last digit is a
control digit whose algorithm is not public, so we never reject on it; a registry check (ХУР
WS100125) is the authority.
"""

from __future__ import annotations

import datetime as dt
import re

REGISTER = re.compile(r"[А-ЯЁӨҮ]{2}[0-9]{8}")
COMPANY_REGISTER = re.compile(r"[0-9]{7}")
PHONE = re.compile(r"[5-9][0-9]{7}")
MOBILE = re.compile(r"[89][0-9]{7}")
PLATE = re.compile(r"[0-9]{4} ?[А-ЯЁӨҮ]{3}")
PROPERTY_NUMBER = re.compile(r"[А-ЯЁӨҮ]-?[0-9]{10}")
PARCEL_ID = re.compile(r"[0-9]{6,14}")
VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
PASSPORT = re.compile(r"[A-Z]{1,2}[0-9]{6,8}")
POSTAL = re.compile(r"[0-9]{5}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
# Latin letters that people type in place of the Cyrillic ones they look like.
_LOOKALIKE = str.maketrans(
    {
        "A": "А",
        "B": "В",
        "E": "Е",
        "K": "К",
        "M": "М",
        "H": "Н",
        "O": "О",
        "P": "Р",
        "C": "С",
        "T": "Т",
        "Y": "У",
        "X": "Х",
    }
)


def normalise_register(text: str) -> str:
    return text.strip().upper().replace(" ", "").translate(_LOOKALIKE)


def register_birth_date(register: str) -> dt.date | None:
    """The birth date encoded in a register number, or None when the digits are no real date."""
    value = normalise_register(register)
    if not REGISTER.fullmatch(value):
        return None
    return birth_date_of_normal(value)


_TWO_DIGITS = {f"{n:02d}": n for n in range(100)}  # int() of a 2-digit text, without int()'s parsing


def birth_date_of_normal(value: str) -> dt.date | None:
    """`register_birth_date` for a value already normalised and matching REGISTER (the validator's
    parsers have done both; doing them again was most of the check's cost)."""
    year, month, day = _TWO_DIGITS[value[2:4]], _TWO_DIGITS[value[4:6]], _TWO_DIGITS[value[6:8]]
    if 1 <= month <= 12:
        year += 1900
    elif 21 <= month <= 32:  # born in 2000 or later: 20 is added to the month
        year, month = year + 2000, month - 20
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def register_sex(register: str) -> str | None:
    """'male' when the ninth character is odd, 'female' when even."""
    value = normalise_register(register)
    if not REGISTER.fullmatch(value):
        return None
    return "male" if int(value[8]) % 2 else "female"


_PHONE_PUNCTUATION = re.compile(r"[\s\-()]")  # compiled once: re.sub with a text pattern looks it up per call
_PLATE_COMPACT = re.compile(r"[0-9]{4}[А-ЯЁӨҮ]{3}")


def normalise_phone(text: str) -> str:
    digits = _PHONE_PUNCTUATION.sub("", text.strip())
    if digits.startswith("+976"):
        digits = digits[4:]
    elif digits.startswith("976") and len(digits) == 11:
        digits = digits[3:]
    return digits


def normalise_plate(text: str) -> str:
    value = text.strip().upper().translate(_LOOKALIKE)
    compact = value.replace(" ", "")
    if _PLATE_COMPACT.fullmatch(compact):
        return f"{compact[:4]} {compact[4:]}"
    return value
