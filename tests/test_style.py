"""The house rules a machine can check: pyflakes, pycodestyle, bugbear, 100 columns."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_code_passes_ruff():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.fail("ruff is missing: pip install -e '.[test]' installs it")
    done = subprocess.run([ruff, "check", "--no-cache", "--select", "E,F,W,B",
                           "--line-length", "100", "src", "tests", "bench"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
