"""Reviewer tooling: semantic diff, migrations between versions, and the published documentation."""
