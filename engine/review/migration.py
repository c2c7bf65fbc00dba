"""Moving cases in flight from one version of a service to the next: which state each one lands in,
and what a saved draft must be told when it is reopened under the new version.

The portal calls `plan_migration(old, new)` on deploy. A case in a state that still exists and is
still not final stays where it is; a case in a state the new version removes (or makes final)
moves where `workflow.migrate` says; a case with nowhere to go is *stranded*, and such a version
must not be deployed (`tsonkh diff OLD NEW --fail-on breaking-cases` refuses it in CI).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.compile.model import SubmissionError
from engine.compile.service import Service
from engine.review.semantic_diff import Change, diff_services


@dataclass(frozen=True)
class MigrationPlan:
    """`moves`: old state → new state for every non-final old state that has somewhere to go
    (identity for states that remain); `stranded`: non-final old states with nowhere to go."""

    moves: Mapping[str, str] = field(default_factory=dict)
    stranded: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.stranded

    def target(self, state: str) -> str | None:
        """Where a case now in `state` belongs in the new version; None when stranded."""
        return self.moves.get(state)

    def changed(self) -> dict[str, str]:
        """Only the moves that change a case's state: what the portal writes to the audit trail."""
        return {old: new for old, new in self.moves.items() if old != new}


def plan_migration(old: Service, new: Service) -> MigrationPlan:
    migrate = new.workflow.migrate
    new_states = new.workflow.states
    moves: dict[str, str] = {}
    stranded: list[str] = []
    for name, state in old.workflow.states.items():
        if state.final:
            continue  # closed cases keep their final state and the version they closed under
        if name in migrate and migrate[name] in new_states:
            moves[name] = migrate[name]
        elif name in new_states and not new_states[name].final:
            moves[name] = name
        else:
            stranded.append(name)
    return MigrationPlan(moves, tuple(stranded))


@dataclass(frozen=True)
class DraftReview:
    """What changed for one saved draft: the changes of the service that touch it (a field it
    answered, an option it chose, a document it lacks, a fee or office that differs for it), and
    the errors the new version finds that the old one did not — the portal shows both to the
    citizen when the draft is reopened."""

    changes: tuple[Change, ...]
    new_errors: tuple[SubmissionError, ...]

    @property
    def blocking(self) -> bool:
        return bool(self.new_errors)


def review_draft(
    old: Service, new: Service, answers: Mapping[str, Any], documents: Iterable[str] | None = None
) -> DraftReview:
    """`documents`: the document ids the draft has uploads for (None when unknown)."""
    from engine.review.impact import StoredDraft, draft_hit, prepare_drafts

    stored = StoredDraft(answers, frozenset(documents) if documents is not None else None)
    (draft,) = prepare_drafts(old, new, [stored])
    touching = tuple(c for c in diff_services(old, new) if draft_hit(c, [draft]))
    before = {(e.path, e.code) for e in old.validate(answers).errors}
    new_errors = tuple(e for e in new.validate(answers).errors if (e.path, e.code) not in before)
    return DraftReview(touching, new_errors)
