"""Tests of the reviewer tooling: semantic diff, textconv, migrations, impact counts and the docs site."""
