"""The benchmark harness does not rot: a quick run of one cheap figure produces a table. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.xdist_group("bench")


def test_quick_validation_figure_writes_a_table(tmp_path) -> None:
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "validate", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "### 2. Validation of realistic submissions" in text
    assert "| measurement | median | p10–p90 |" in text
    # Every row of the figure has a number and the rows with a baseline have a ratio.
    rows = [line for line in text.splitlines() if line.startswith("| ") and "µs" in line]
    assert len(rows) >= 8
    assert all("×" in line for line in rows if "Tsonkh validator" in line)
    assert "Traceback" not in text
