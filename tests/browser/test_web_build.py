"""The web build's inputs: the API snapshots it generates its types from are current, and its
own unit tests (geometry, stacks; vitest) pass."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"


def test_openapi_and_vocabulary_snapshots_match_the_api() -> None:
    """The front end's types come from web/openapi.json: it must be what the API serves."""
    result = subprocess.run([sys.executable, str(WEB / "scripts" / "snapshot_api.py"), "--check"],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_web_unit_tests_pass() -> None:
    if shutil.which("npx") is None or not (WEB / "node_modules" / ".bin" / "vitest").exists():
        pytest.fail("web/node_modules is missing: run bash scripts/setup.sh (npm ci)")
    result = subprocess.run(["npx", "--no-install", "vitest", "run", "--reporter=dot"],
                            capture_output=True, text=True, timeout=180, cwd=WEB)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
