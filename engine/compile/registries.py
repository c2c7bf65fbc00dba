"""Compile the shared registries (`service_defs/_shared/`) into lookup tables services refer to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.check.format import CONTENT_TYPES
from engine.compile.model import (
    Agency,
    DocumentType,
    I18n,
    Office,
    Option,
    OptionList,
    RegistryOperation,
    Role,
)
from engine.load.yaml_source import Document, PathKey
from engine.problems import Problem, did_you_mean, problem

BUILTIN_ROLES = ("applicant", "system")


@dataclass(frozen=True)
class Located:
    """A raw registry entry and where it was written, for problems found later."""

    doc: Document
    path: PathKey
    value: Any


@dataclass(frozen=True)
class Registries:
    agencies: Mapping[str, Agency] = field(default_factory=dict)
    categories: Mapping[str, I18n] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)
    offices: Mapping[str, Office] = field(default_factory=dict)
    option_lists: Mapping[str, OptionList] = field(default_factory=dict)
    field_groups: Mapping[str, Located] = field(default_factory=dict)
    document_types: Mapping[str, DocumentType] = field(default_factory=dict)
    operations: Mapping[str, RegistryOperation] = field(default_factory=dict)

    def staffed_roles(self) -> frozenset[str]:
        return self._staffed

    @property
    def _staffed(self) -> frozenset[str]:
        # Computed once per registries object: known_role asks for every state and transition.
        cached: frozenset[str] | None = self.__dict__.get("_staffed_cache")
        if cached is None:
            cached = frozenset(role for office in self.offices.values() for role in office.roles)
            object.__setattr__(self, "_staffed_cache", cached)
        return cached


def merge_registry_docs(docs: list[Document]) -> tuple[dict[str, dict[str, Located]], list[Problem]]:
    """Gather every registry kind across files; an id defined twice is a problem."""
    merged: dict[str, dict[str, Located]] = {}
    problems: list[Problem] = []
    for doc in docs:
        if not isinstance(doc.data, dict):
            continue
        for kind, entries in doc.data.items():
            if not isinstance(entries, dict):
                continue
            bucket = merged.setdefault(kind, {})
            for key, value in entries.items():
                if key in bucket:
                    first = bucket[key]
                    where = first.doc.span((kind, key), key=True)
                    problems.append(
                        problem(
                            "ID002",
                            f"{kind} id '{key}' is defined twice (also at {where.file}:{where.line})",
                            doc.span((kind, key), key=True),
                        )
                    )
                    continue
                bucket[key] = Located(doc, (kind, key), value)
    return merged, problems


def compile_registries(merged: dict[str, dict[str, Located]]) -> tuple[Registries, list[Problem]]:
    problems: list[Problem] = []

    def entries(kind: str) -> dict[str, Located]:
        return merged.get(kind, {})

    agencies = {
        key: Agency(
            key,
            I18n.of(e.value["name"]),
            I18n.of(e.value.get("short", e.value["name"])),
            e.value["scope"],
            e.value.get("website"),
        )
        for key, e in entries("agencies").items()
    }
    categories = {key: I18n.of(e.value["label"]) for key, e in entries("categories").items()}
    roles = {key: Role(key, I18n.of(e.value["label"])) for key, e in entries("roles").items()}
    option_lists: dict[str, OptionList] = {}
    for key, e in entries("option_lists").items():
        option_lists[key] = _option_list(key, e.value)
    # Parents are checked once every list is known.
    for key, e in entries("option_lists").items():
        parent_id = option_lists[key].parent_list
        if parent_id is None:
            continue
        parent = option_lists.get(parent_id)
        if parent is None:
            problems.append(
                problem(
                    "FIELD003",
                    f"unknown parent list '{parent_id}'",
                    e.doc.span(e.path),
                    did_you_mean(parent_id, option_lists) or None,
                )
            )
            continue
        for index, item in enumerate(option_lists[key].options):
            if item.parent not in parent.values():
                path = (
                    (*e.path, "numbered", "counts", item.parent or "")
                    if "numbered" in e.value
                    else (*e.path, "options", index, "parent")
                )
                problems.append(
                    problem(
                        "REF005",
                        f"'{item.parent}' is not a value of {parent_id}",
                        e.doc.span(path),
                        did_you_mean(str(item.parent), parent.values(), 0) or None,
                    )
                )
                break
    offices: dict[str, Office] = {}
    for key, e in entries("offices").items():
        value = e.value
        office = Office(
            key,
            I18n.of(value["name"]),
            value["agency"],
            frozenset(value["roles"]),
            value.get("district"),
            value.get("aimag"),
        )
        offices[key] = office
        if office.agency not in agencies:
            problems.append(
                problem(
                    "REF001",
                    f"unknown agency '{office.agency}'",
                    e.doc.span((*e.path, "agency")),
                    did_you_mean(office.agency, agencies, 0) or None,
                )
            )
        for index, role in enumerate(value["roles"]):
            if role not in roles:
                problems.append(
                    problem(
                        "REF003",
                        f"unknown role '{role}'",
                        e.doc.span((*e.path, "roles", index)),
                        did_you_mean(role, roles, 0) or "declare it in _shared/roles.yaml",
                    )
                )
        for place, list_ids in (("district", ("ub_districts",)), ("aimag", ("aimags", "regions"))):
            where = value.get(place)
            known = [lst for lst in list_ids if lst in option_lists]
            if where is not None and known and not any(where in option_lists[lst].values() for lst in known):
                problems.append(
                    problem(
                        "SHAPE004",
                        f"unknown {place} '{where}'",
                        e.doc.span((*e.path, place)),
                        did_you_mean(where, option_lists[known[0]].values(), 0) or None,
                    )
                )
    operations = {
        key: RegistryOperation(
            key,
            I18n.of(e.value["title"]),
            e.value["system"],
            tuple(e.value.get("returns", ())),
            e.value.get("kind", "read"),
            e.value.get("key", {}).get("by", "citizen"),
            e.value.get("key", {}).get("record", "person"),
        )
        for key, e in entries("registry_operations").items()
    }
    document_types: dict[str, DocumentType] = {}
    for key, e in entries("document_types").items():
        value = e.value
        registry = value.get("registry")
        if registry is not None and registry not in operations:
            problems.append(
                problem(
                    "DOC003",
                    f"unknown registry operation '{registry}'",
                    e.doc.span((*e.path, "registry")),
                    did_you_mean(registry, operations, 0) or None,
                )
            )
        document_types[key] = DocumentType(
            key,
            I18n.of(value["title"]),
            tuple(CONTENT_TYPES[a] for a in value.get("accept", ["pdf", "jpeg", "png"])),
            value.get("max_size_mb", 5),
            value.get("max_count", 1),
            registry,
        )
    registries = Registries(
        agencies, categories, roles, offices, option_lists, dict(entries("field_groups")), document_types, operations
    )
    return registries, problems


def _option_list(key: str, value: dict[str, Any]) -> OptionList:
    if "numbered" in value:
        spec = value["numbered"]
        label = I18n.of(spec["label"])
        options = tuple(
            Option(str(n), label.format(n=n), parent)
            for parent, count in spec["counts"].items()
            for n in range(1, int(count) + 1)
        )
        return OptionList(key, options, spec["parent_list"])
    options = tuple(Option(str(o["value"]), I18n.of(o["label"]), o.get("parent")) for o in value["options"])
    return OptionList(key, options, value.get("parent_list"))
