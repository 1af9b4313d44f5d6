"""The benchmark suite runs end to end at a tiny size (a smoke test: no timing is asserted)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_tiny_benchmark_runs_every_section(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--size", "tiny", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert not results["errors"], results["errors"]
    sections = {row["section"] for row in results["rows"]}
    assert sections == {"1", "2", "3", "4", "5"}
    assert any(row["name"].startswith("ceiling") for row in results["rows"])  # what the cores allow, beside the bar
    for row in results["rows"]:
        if row["ratio"] is not None:
            assert row["ratio"] > 0, row
