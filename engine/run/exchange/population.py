"""A realistic, deterministic demo population for the local registry: people, companies, vehicles,
land parcels and properties, with valid register numbers and real aimags, districts and khoroos.

Generated from a fixed seed, so every fresh machine gets the same people (tests can name them).
Attributes an operation returns that are not modelled here are synthesised deterministically
from the record and the attribute's name (`synthesise`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.compile import mongolia

SEED = 2026
PEOPLE = 300
COMPANIES = 60
VEHICLES = 150
PARCELS = 120
PROPERTIES = 100

SURNAMES = (
    "Батбаяр", "Ганбаатар", "Эрдэнэбат", "Мөнхбаяр", "Сүхбаатар", "Энхтайван", "Лхагвасүрэн", "Болд",
    "Даваадорж", "Отгонбаяр", "Пүрэвдорж", "Цэрэндорж", "Баярсайхан", "Нямдорж", "Төмөрбаатар", "Ганзориг",
    "Жаргалсайхан", "Алтангэрэл", "Энхбаатар", "Цогтбаатар", "Дашдорж", "Мягмарсүрэн", "Баасансүрэн", "Чулуун",
)
MALE_NAMES = (
    "Бат-Эрдэнэ", "Тэмүүлэн", "Ганбold", "Мөнх-Очир", "Билгүүн", "Энхжин", "Батзориг", "Тулга", "Хүслэн",
    "Сүхбат", "Амарбаясгалан", "Төгөлдөр", "Анар", "Баатархүү", "Өлзийбат", "Жавхлан", "Эрдэнэсайхан",
)
FEMALE_NAMES = (
    "Номин", "Сарнай", "Оюунчимэг", "Энхтуяа", "Мөнхзул", "Солонго", "Ариунаа", "Уранчимэг", "Цэцэгмаа",
    "Анужин", "Хулан", "Навчаа", "Гэрэлмаа", "Болормаа", "Нармандах", "Одгэрэл", "Маралмаа",
)
CLANS = ("Боржигон", "Хиад", "Уриангхай", "Тайчууд", "Сартуул", "Хонгирад", "Бэсүд", "Олхонууд")
COMPANY_WORDS = ("Номин", "Говь", "Алтай", "Хангай", "Тэнгэр", "Туул", "Сэлэнгэ", "Хөх Мөнх", "Эрдэнэт", "Орхон")
COMPANY_KINDS = ("Трейд", "Групп", "Констракшн", "Холдинг", "Технологи", "Логистик", "Агро", "Майнинг")
MAKES = (("Toyota", "Prius"), ("Toyota", "Land Cruiser"), ("Hyundai", "Accent"), ("Hyundai", "Sonata"),
         ("Lexus", "RX 450h"), ("Nissan", "X-Trail"), ("Kia", "Sorento"), ("Honda", "Fit"))
COLOURS = ("цагаан", "хар", "мөнгөлөг", "саарал", "хөх", "улаан")
PLATE_LETTERS = ("УБА", "УБВ", "УНА", "УАА", "УБЕ", "УНБ", "УКА", "ДАА", "ДОА", "ЭРА")
REGISTER_LETTERS = ("УБ", "УЕ", "УИ", "УН", "ИЮ", "ЧИ", "ДА", "ЭР", "ОР", "ХА", "ГО", "АА", "ШЕ", "ЧЕ")
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Record:
    kind: str
    key: str
    owner: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Places:
    """Option values of the running catalog, so that seeded addresses validate in its forms."""

    regions: Sequence[tuple[str, str]]  # (value, Mongolian label)
    districts: Sequence[tuple[str, str]]
    khoroos: Mapping[str, Sequence[str]]  # district value → khoroo values
    land_uses: Sequence[str]

    @staticmethod
    def from_registries(registries: Any) -> Places:
        lists = registries.option_lists

        def pairs(name: str, fallback: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
            found = lists.get(name)
            return [(o.value, o.label.mn) for o in found.options] if found else list(fallback)

        khoroos: dict[str, list[str]] = {}
        if "ub_khoroos" in lists:
            for o in lists["ub_khoroos"].options:
                khoroos.setdefault(o.parent or "", []).append(o.value)
        districts = pairs("ub_districts", [("bayangol", "Баянгол"), ("khan_uul", "Хан-Уул")])
        for value, _ in districts:
            khoroos.setdefault(value, ["1"])
        return Places(
            regions=pairs("regions", [("ulaanbaatar", "Улаанбаатар"), ("arkhangai", "Архангай")]),
            districts=districts,
            khoroos=khoroos,
            land_uses=[v for v, _ in pairs("land_use_purposes", [("family_dwelling", "")])],
        )


def register_number(rng: random.Random, born: dt.date, male: bool) -> str:
    month = born.month + (20 if born.year >= 2000 else 0)
    ninth = rng.choice("13579" if male else "02468")
    return f"{rng.choice(REGISTER_LETTERS)}{born.year % 100:02d}{month:02d}{born.day:02d}{ninth}{rng.randint(0, 9)}"


def _date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))


def _address(rng: random.Random, places: Places) -> dict[str, str]:
    # Two in three live in the capital, as in the census.
    if rng.random() < 0.66 and places.districts:
        district = rng.choice(places.districts)[0]
        khoroo = rng.choice(list(places.khoroos.get(district) or ["1"]))
        street = f"{rng.randint(1, 120)}-р байр, {rng.randint(1, 90)} тоот"
        return {"region": "ulaanbaatar", "soum_district": district, "bag_khoroo": khoroo, "street": street}
    region = rng.choice([r for r in places.regions if r[0] != "ulaanbaatar"] or list(places.regions))[0]
    return {"region": region, "soum_district": "Төв сум", "bag_khoroo": f"{rng.randint(1, 9)}-р баг",
            "street": f"{rng.randint(1, 40)}-р гудамж, {rng.randint(1, 60)} тоот"}


def full_address(address: Mapping[str, str], places: Places) -> str:
    regions = dict(places.regions)
    districts = dict(places.districts)
    region = regions.get(address.get("region", ""), address.get("region", ""))
    district = districts.get(address.get("soum_district", ""), address.get("soum_district", ""))
    khoroo = address.get("bag_khoroo", "")
    khoroo = f"{khoroo}-р хороо" if khoroo.isdigit() else khoroo
    return ", ".join(p for p in (region, district, khoroo, address.get("street", "")) if p)


def person(rng: random.Random, places: Places, register: str | None = None) -> Record:
    """One citizen; with `register`, the person that register number describes (birth date, sex)."""
    if register is None:
        born = _date(rng, dt.date(1950, 1, 1), dt.date(2007, 12, 31))
        male = rng.random() < 0.5
        register = register_number(rng, born, male)
    else:
        born = mongolia.register_birth_date(register) or dt.date(1990, 1, 1)
        male = mongolia.register_sex(register) == "male"
    address = _address(rng, places)
    issued = _date(rng, max(born + dt.timedelta(days=16 * 366), dt.date(2016, 1, 1)), dt.date(2025, 12, 31))
    region_labels = [label for _, label in places.regions]
    data = {
        "register_number": register,
        "civil_id": str(rng.randint(10**11, 10**12 - 1)),
        "clan_name": rng.choice(CLANS),
        "surname": rng.choice(SURNAMES),
        "given_name": rng.choice(MALE_NAMES if male else FEMALE_NAMES),
        "birth_date": born.isoformat(),
        "sex": "male" if male else "female",
        "birth_place": rng.choice(region_labels) if region_labels else "Улаанбаатар",
        "ethnicity": "Халх",
        "id_card_number": f"{rng.randint(10**7, 10**8 - 1)}",
        "issue_date": issued.isoformat(),
        "expiry_date": (issued + dt.timedelta(days=10 * 365)).isoformat(),
        "address": address,
        "full_address": full_address(address, places),
        "region_code": address["region"],
        "soum_district_code": address["soum_district"],
        "bag_khoroo_code": address["bag_khoroo"],
        "registered_since": _date(rng, born, dt.date(2025, 6, 30)).isoformat(),
        "phone": f"{rng.choice('89')}{rng.randint(10**6, 10**7 - 1)}",
    }
    return Record("person", register, register, data)


def population(places: Places, seed: int = SEED) -> Iterator[Record]:
    """The whole demo population, always the same for the same seed and places."""
    rng = random.Random(seed)
    people: list[Record] = []
    seen: set[str] = set()
    while len(people) < PEOPLE:
        p = person(rng, places)
        if p.key not in seen:
            seen.add(p.key)
            people.append(p)
    yield from people
    adults = [p for p in people if p.data["birth_date"] < "2006-01-01"]
    yield from companies(rng, adults, places)
    yield from vehicles(rng, adults)
    yield from parcels(rng, adults, places)
    yield from properties(rng, adults, places)


def companies(
    rng: random.Random, adults: Sequence[Record], places: Places, count: int = COMPANIES
) -> Iterator[Record]:
    used: set[str] = set()
    for _ in range(count):
        number = str(rng.randint(2_000_000, 6_999_999))
        while number in used:
            number = str(rng.randint(2_000_000, 6_999_999))
        used.add(number)
        director = rng.choice(adults)
        address = _address(rng, places)
        data = {
            "company_register": number,
            "state_registration_number": str(rng.randint(10**9, 10**10 - 1)),
            "company_name": f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} ХХК",
            "legal_form": "llc",
            "registered_date": _date(rng, dt.date(1995, 1, 1), dt.date(2024, 12, 31)).isoformat(),
            "director_register": director.key,
            "director_name": f"{director.data['surname']} {director.data['given_name']}",
            "address": full_address(address, places),
            "capital_mnt": rng.choice((1_000_000, 5_000_000, 10_000_000, 50_000_000)),
            "status": "active",
        }
        yield Record("company", number, director.key, data)


def plate(rng: random.Random) -> str:
    return f"{rng.randint(1000, 9999)} {rng.choice(PLATE_LETTERS)}"


def vehicles(rng: random.Random, adults: Sequence[Record], count: int = VEHICLES) -> Iterator[Record]:
    used: set[str] = set()
    for _ in range(count):
        number = plate(rng)
        while number in used:
            number = plate(rng)
        used.add(number)
        owner = rng.choice(adults)
        make, model = rng.choice(MAKES)
        year = rng.randint(2005, 2023)
        vin = "".join(rng.choice(VIN_ALPHABET) for _ in range(17))
        data = {
            "plate_number": number,
            "vin": vin,
            "make": make,
            "model": model,
            "manufacture_year": year,
            "colour": rng.choice(COLOURS),
            "engine_cc": rng.choice((1300, 1500, 1800, 2400, 3500, 4600)),
            "owner_register": owner.key,
            "certificate_number": f"ТХ{rng.randint(10**6, 10**7 - 1)}",
            "import_date": _date(rng, dt.date(year + 1, 1, 1), dt.date(2024, 12, 31)).isoformat(),
        }
        yield Record("vehicle", number, owner.key, data)
        yield Record("vin", vin, owner.key, data)


def parcels(
    rng: random.Random, adults: Sequence[Record], places: Places, count: int = PARCELS
) -> Iterator[Record]:
    for n in range(count):
        holder = rng.choice(adults)
        district = rng.choice(places.districts)[0] if places.districts else "bayangol"
        parcel_id = f"18{rng.randint(10**7, 10**8 - 1)}{n % 10}"
        right = "possession" if count == 1 or rng.random() < 0.7 else "ownership"
        expires = dt.date.today() + dt.timedelta(days=rng.randint(30, 330)) if right == "possession" else None
        data = {
            "parcel_id": parcel_id,
            "certificate_number": f"{rng.randint(10**9, 10**10 - 1)}",
            "holder_register": holder.key,
            "right_type": right,
            "land_use_purpose": rng.choice(list(places.land_uses) or ["family_dwelling"]),
            "area_m2": float(rng.choice((350, 500, 700, 1000, 1500, 2400))),
            "valid_until": expires.isoformat() if expires else None,
            "address": {"region": "ulaanbaatar", "soum_district": district,
                        "bag_khoroo": rng.choice(list(places.khoroos.get(district) or ["1"])), "street": ""},
            "full_address": full_address({"region": "ulaanbaatar", "soum_district": district}, places),
            "district": district,
            "decision_number": f"А/{rng.randint(100, 2000)}",
            "geometry": None,
        }
        yield Record("parcel", parcel_id, holder.key, data)


def properties(
    rng: random.Random, adults: Sequence[Record], places: Places, count: int = PROPERTIES
) -> Iterator[Record]:
    used: set[str] = set()
    for _ in range(count):
        number = f"Ү-{rng.randint(10**9, 10**10 - 1)}"
        while number in used:
            number = f"Ү-{rng.randint(10**9, 10**10 - 1)}"
        used.add(number)
        owner = rng.choice(adults)
        data = {
            "property_number": number,
            "property_type": rng.choice(("apartment", "house", "office", "garage")),
            "address": dict(owner.data["address"]),
            "full_address": owner.data["full_address"],
            "area_m2": float(rng.randint(25, 180)),
            "owners": [owner.key],
            "certificate_number": f"{rng.randint(10**6, 10**7 - 1)}",
            "registered_date": _date(rng, dt.date(2000, 1, 1), dt.date(2024, 12, 31)).isoformat(),
            "encumbrances": [],
        }
        yield Record("property", number, owner.key, data)


# --- attributes nobody modelled: plausible, deterministic values by name ---------------------------------
_TRUE = {"alive", "exists", "verified", "match", "insured", "enrolled", "paid", "confirmed", "name_available"}
_SOON = {"expiry_date", "valid_until", "visa_valid_until", "permit_expiry_date", "approved_until"}
_RECENT = {"leave_from", "incapacity_from", "entry_date", "conclusion_date", "violation_date", "inspection_date"}
_TEXTS = {
    "school_name": ("Улаанбаатар хотын 1-р сургууль", "Сэлэнгэ аймгийн Сүхбаатар сумын 2-р сургууль"),
    "institution_name": (
        "Монгол Улсын Их Сургууль",
        "Шинжлэх Ухаан Технологийн Их Сургууль",
        "Анагаахын Шинжлэх Ухааны Үндэсний Их Сургууль",
    ),
    "employer_name": ("Номин Трейд ХХК", "Улаанбаатар Төмөр Зам", "Монголын Цахилгаан Холбоо ХК"),
    "archive_name": ("Үндэсний архивын газар", "Нийслэлийн архив"),
    "registering_office": ("Баянгол дүүргийн иргэний бүртгэлийн хэлтэс", "Хан-Уул дүүргийн иргэний бүртгэлийн хэлтэс"),
    "registered_district": ("Баянгол", "Хан-Уул", "Сүхбаатар"),
    "tax_office": ("Баянгол дүүргийн татварын хэлтэс", "Сүхбаатар дүүргийн татварын хэлтэс"),
    "inspection_center": ("Автотээврийн үндэсний төвийн оношилгооны төв",),
    "issuing_hospital": ("Улсын нэгдүгээр төв эмнэлэг", "Баянгол дүүргийн эрүүл мэндийн төв"),
    "family_health_center": ("Баянгол дүүргийн 3-р хорооны өрхийн эрүүл мэндийн төв",),
    "place_of_death": ("Улаанбаатар",),
    "field_of_study": ("Эрх зүй", "Эдийн засаг", "Мэдээллийн технологи"),
    "degree": ("Бакалавр", "Магистр"),
    "violation": ("Хурд хэтрүүлсэн", "Зогсоолын журам зөрчсөн"),
}
_LISTS = {"parcels", "owners", "categories", "subject_scores", "beneficial_owners", "activities", "child_registers",
          "matching_names", "encumbrances"}


def synthesise(name: str, record: Mapping[str, Any], operation: str) -> Any:
    seed = hashlib.sha256(f"{operation}:{name}:{sorted(record.items())!r}".encode()).digest()
    rng = random.Random(seed)
    owner = record.get("register_number") or record.get("owner_register") or record.get("holder_register")
    if name in ("photo", "geometry", "map_document"):
        return None  # binary content the demo registry does not hold
    if name in _LISTS:
        return ["b"] if name == "categories" else []
    if name in _TRUE:
        return True
    if name.startswith(("has_", "is_", "owns_", "possesses_")) or name in ("married", "cancelled"):
        return False
    if name.endswith("_register") or name == "taxpayer_id":
        return owner
    today = dt.date.today()
    if name in _SOON:  # what people renew or extend is about to end
        return (today + dt.timedelta(days=rng.randint(20, 80))).isoformat()
    if name in _RECENT:
        return (today - dt.timedelta(days=rng.randint(3, 15))).isoformat()
    if name == "incapacity_to":
        return (today + dt.timedelta(days=rng.randint(1, 20))).isoformat()
    if name == "expected_birth_date":
        return (today + dt.timedelta(days=rng.randint(30, 200))).isoformat()
    if name == "customs_declaration_number":
        return f"{rng.randint(10101, 10999)}/{today.year % 100:02d}/{rng.randint(10**6, 10**7 - 1)}"
    if name.endswith("_pct"):
        return rng.choice((30, 50, 70))
    if "year" in name:
        return rng.randint(2000, 2024)
    if name.endswith(("_mnt", "_cc")) or name.startswith(("months", "amount")) or "months" in name:
        return rng.randint(1, 60) if "months" in name else rng.randint(1, 50) * 10_000
    if name.endswith("_from") or name.endswith("_since"):
        return _date(rng, dt.date(2018, 1, 1), dt.date(2025, 6, 30)).isoformat()
    if name.endswith(("_until", "_to")) or name in ("expiry_date", "due_date"):
        return _date(rng, dt.date(2026, 12, 1), dt.date(2030, 12, 31)).isoformat()
    if "date" in name or name.endswith("_at"):
        return _date(rng, dt.date(2010, 1, 1), dt.date(2025, 6, 30)).isoformat()
    if name.endswith(("_number", "_id")):
        return f"{rng.randint(10**6, 10**7 - 1)}"
    if name == "status":
        return "active"
    if name in _TEXTS:
        return rng.choice(_TEXTS[name])
    return None  # not modelled: the citizen fills it in, as when a registry has no value
