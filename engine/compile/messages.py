"""Citizen-facing validation messages, in Mongolian and English, keyed by error code.

They follow the GOV.UK pattern: say what to do ("Enter …"), name the field, never blame.
"""

from __future__ import annotations

from typing import Any

from engine.compile.model import I18n

MESSAGES: dict[str, I18n] = {
    "required": I18n("«{label}» талбарыг бөглөнө үү", "Enter {label}"),
    "required_choice": I18n("«{label}» сонголтоо хийнэ үү", "Select {label}"),
    "required_true": I18n("«{label}»-ийг баталгаажуулна уу", "Confirm {label}"),
    "type_text": I18n("«{label}» текст байх ёстой", "{label} must be text"),
    "type_integer": I18n("«{label}» бүхэл тоо байх ёстой", "{label} must be a whole number"),
    "type_number": I18n("«{label}» тоо байх ёстой", "{label} must be a number"),
    "type_money": I18n("«{label}» төгрөгөөр, бүхэл тоогоор бичнэ үү", "Enter {label} in whole tögrög"),
    "type_boolean": I18n("«{label}»: тийм эсвэл үгүй гэж сонгоно уу", "Select yes or no for {label}"),
    "type_date": I18n(
        "«{label}»-ийг он-сар-өдөр (2024-05-31) хэлбэрээр бичнэ үү", "{label} must be a real date, like 2024-05-31"
    ),
    "type_datetime": I18n("«{label}»-ийг огноо, цагтайгаар бичнэ үү", "{label} must be a date and time"),
    "too_small": I18n("«{label}» {min}-аас бага байж болохгүй", "{label} must be {min} or more"),
    "too_large": I18n("«{label}» {max}-аас их байж болохгүй", "{label} must be {max} or less"),
    "too_many_places": I18n(
        "«{label}» таслалаас хойш {places} оронтой байна", "{label} can have at most {places} decimal places"
    ),
    "date_too_early": I18n("«{label}» {min}-ээс өмнө байж болохгүй", "{label} must be on or after {min}"),
    "date_too_late": I18n("«{label}» {max}-ээс хойш байж болохгүй", "{label} must be on or before {max}"),
    "too_short": I18n(
        "«{label}» хамгийн багадаа {min_length} тэмдэгт байна", "{label} must be {min_length} characters or more"
    ),
    "too_long": I18n(
        "«{label}» хамгийн ихдээ {max_length} тэмдэгт байна", "{label} must be {max_length} characters or fewer"
    ),
    "pattern": I18n("«{label}» буруу хэлбэртэй байна", "{label} is not in the right format"),
    "not_an_option": I18n("«{label}»: жагсаалтаас сонгоно уу", "Select {label} from the list"),
    "option_not_allowed": I18n(
        "«{label}»: сонгосон утга «{parent}»-д хамаарахгүй байна",
        "{label}: the choice does not belong to the selected {parent}",
    ),
    "too_few_items": I18n(
        "«{label}»: хамгийн багадаа {min_items}-ийг сонгоно/нэмнэ үү", "{label}: add or select at least {min_items}"
    ),
    "too_many_items": I18n("«{label}»: хамгийн ихдээ {max_items} байна", "{label}: at most {max_items}"),
    "email": I18n(
        "«{label}»-ийг name@example.mn хэлбэрээр бичнэ үү", "Enter {label} in the correct format, like name@example.mn"
    ),
    "phone": I18n(
        "«{label}» 8 оронтой утасны дугаар байна (жишээ: 99112233)",
        "{label} must be an 8-digit Mongolian number, like 99112233",
    ),
    "mobile": I18n(
        "«{label}» гар утасны дугаар байна (8 эсвэл 9-өөр эхэлнэ)",
        "{label} must be a mobile number starting with 8 or 9",
    ),
    "register_format": I18n(
        "«{label}»: 2 үсэг, 8 оронтой тоо (жишээ: УБ95120415)",
        "{label} must be 2 Cyrillic letters and 8 digits, like УБ95120415",
    ),
    "register_date": I18n(
        "«{label}»: дугаарт буй төрсөн огноо бодит биш байна",
        "{label}: the birth date in the number is not a real date",
    ),
    "register_future": I18n("«{label}»: төрсөн огноо ирээдүйд байна", "{label}: the birth date is in the future"),
    "register_too_young": I18n(
        "«{label}»: {min_age}-аас дээш настай байх шаардлагатай",
        "{label}: the person must be at least {min_age} years old",
    ),
    "register_too_old": I18n(
        "«{label}»: {max_age}-аас доош настай байх шаардлагатай",
        "{label}: the person must be at most {max_age} years old",
    ),
    "company_register": I18n("«{label}» 7 оронтой тоо байна", "{label} must be 7 digits"),
    "person_or_company": I18n(
        "«{label}»: иргэний (УБ95120415) эсвэл хуулийн этгээдийн (7 орон) регистр",
        "{label}: a citizen register (УБ95120415) or a 7-digit company register",
    ),
    "plate_number": I18n("«{label}»: 4 орон, 3 үсэг (жишээ: 1234 УБА)", "{label} must look like 1234 УБА"),
    "property_number": I18n(
        "«{label}»: үсэг, 10 оронтой тоо (жишээ: Ү-2206049413)", "{label} must look like Ү-2206049413"
    ),
    "parcel_id": I18n("«{label}»: 6-14 оронтой тоо", "{label} must be 6 to 14 digits"),
    "vin": I18n("«{label}»: 17 тэмдэгт (I, O, Q-гүй)", "{label} must be 17 characters (no I, O or Q)"),
    "passport_number": I18n("«{label}»: латин үсэг, тоо (жишээ: E1234567)", "{label} must look like E1234567"),
    "postal_code": I18n("«{label}»: 5 оронтой тоо", "{label} must be 5 digits"),
    "url": I18n("«{label}»: https://… хаяг", "{label} must be a web address starting with https://"),
    "geo_point": I18n(
        "«{label}»: өргөрөг, уртраг (жишээ: 47.918, 106.917) Монгол улсын нутагт",
        "{label}: latitude, longitude inside Mongolia, like 47.918, 106.917",
    ),
    "address": I18n("«{label}»: хаягийн хэсгүүдийг бүрэн бөглөнө үү", "{label}: complete every part of the address"),
    "type_group": I18n("«{label}» буруу бүтэцтэй байна", "{label} is not in the right shape"),
    "unknown_field": I18n(
        "«{label}» гэсэн асуулт энэ үйлчилгээнд байхгүй", "{label} is not a question of this service"
    ),
}


def message(code: str, label: I18n, params: dict[str, Any]) -> I18n:
    """The message for `code`, naming the field; a bilingual parameter is used in each language."""
    template = MESSAGES[code]

    def values(lang: str) -> dict[str, Any]:
        return {k: (v.get(lang) if isinstance(v, I18n) else v) for k, v in params.items() if k != "label"}

    return I18n(template.mn.format(label=label.mn, **values("mn")), template.en.format(label=label.en, **values("en")))
