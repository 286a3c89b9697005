"""The short version of benchmarks/kill_resume.py: a training run killed with SIGKILL three
times at random moments, resumed each time, completes with no partial file ever left and
ends bit-identical to an uninterrupted run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # make test runs it; make test-fast leaves it out

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kill_resume.py"


def test_three_sigkills_then_resume_equal_an_uninterrupted_run() -> None:
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--kills", "3", "--steps", "12", "--seed", "1"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "completed True; bitwise equal to the uninterrupted run: True" in r.stdout
    assert "kill  1" in r.stdout and "partial files: 0" in r.stdout
