"""A copy of the fixture project whose workflow declares effects: notices, an issued certificate, a revocation."""

from __future__ import annotations

from pathlib import Path

WORKFLOW = """\
id: simple-review
title: {mn: Энгийн хянан шийдвэрлэх, en: Simple review}
params:
  officer: {description: {mn: Хянах албан тушаалтан, en: The reviewing role}}
initial: submitted
states:
  submitted: {label: {mn: Илгээсэн, en: Submitted}, role: "${officer}", sla_days: 2, effects: [{notify: office}]}
  correction: {label: {mn: Засвар, en: Correction}, role: applicant}
  issued: {label: {mn: Олгосон, en: Issued}, role: "${officer}", sla_days: 5}
  granted: {label: {mn: Гардуулсан, en: Handed over}, final: true, outcome: granted}
  revoked: {label: {mn: Хүчингүй болгосон, en: Revoked}, final: true, outcome: withdrawn}
  rejected: {label: {mn: Татгалзсан, en: Rejected}, final: true, outcome: rejected}
transitions:
  - action: approve
    label: {mn: Зөвшөөрөх, en: Approve}
    from: submitted
    to: issued
    by: "${officer}"
    effects: [{notify: applicant}, {issue: test_certificate}]
  - action: reissue
    label: {mn: Дахин олгох, en: Re-issue}
    from: issued
    to: issued
    by: "${officer}"
    effects: [{issue: test_certificate}]
  - action: hand_over
    label: {mn: Гардуулах, en: Hand over}
    from: issued
    to: granted
    by: "${officer}"
    effects:
      - notify: applicant
        message:
          mn: "Гэрчилгээгээ гардан авлаа ({{ tracking }})."
          en: "You collected your certificate ({{ tracking }})."
  - action: revoke
    label: {mn: Хүчингүй болгох, en: Revoke}
    from: issued
    to: revoked
    by: "${officer}"
    requires: {comment: true}
    effects: [{revoke: test_certificate}, {notify: applicant}]
  - action: return_for_correction
    label: {mn: Буцаах, en: Return}
    from: submitted
    to: correction
    by: "${officer}"
    requires: {comment: true}
    effects: [{notify: applicant}]
  - {action: resubmit, label: {mn: Дахин илгээх, en: Resubmit}, from: correction, to: "@back", by: applicant}
  - action: reject
    label: {mn: Татгалзах, en: Reject}
    from: submitted
    to: rejected
    by: "${officer}"
    requires: {comment: true}
    effects: [{notify: applicant}, {issue: refusal_decision}]
"""


def with_effects(project: Path) -> Path:
    (project / "workflows" / "simple-review.yaml").write_text(WORKFLOW, encoding="utf-8")
    return project
