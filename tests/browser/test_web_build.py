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


def test_the_review_carries_only_the_cornerstone3d_tools_it_uses() -> None:
    """cornerstone3D declares its packages free of side effects in a package.json its own
    dist/esm/package.json hides from the bundler; web/vite.config.ts reads the declaration
    where it is. Without that, one import from @cornerstonejs/tools brought every tool of the
    library into the review's chunks (0.6 MB more to parse at each visit)."""
    from api.routes.web import WEB_DIST, review_chunks

    chunks = review_chunks(WEB_DIST)
    if not chunks:
        pytest.fail("web/dist has no review chunks: run bash scripts/setup.sh (npm run build)")
    code = "".join((WEB_DIST / "assets" / name).read_text(encoding="utf-8") for name in chunks)
    # The calipers are built on the bidirectional tool: the chunks read are the review's.
    assert "Bidirectional" in code
    for unused in ("UltrasoundPleuraBLine", "SculptorTool", "VideoRedaction", "ETDRSGrid"):
        assert unused not in code, f"{unused} is in the review's chunks"


def test_the_review_searches_frame_answers_with_nadirs_boundary_search() -> None:
    """web/vite.config.ts puts src/vendor/find-index-of-string.ts in place of the image
    loader's byte-by-byte boundary search (which the build fails without, should the loader
    stop importing it by name): the review's chunks carry the one that lets the array's
    indexOf find the candidates, and not the loader's loop."""
    import re

    from api.routes.web import WEB_DIST, review_chunks

    chunks = review_chunks(WEB_DIST)
    if not chunks:
        pytest.fail("web/dist has no review chunks: run bash scripts/setup.sh (npm run build)")
    code = "".join((WEB_DIST / "assets" / name).read_text(encoding="utf-8") for name in chunks)
    assert re.search(r"\.indexOf\(\w+\[0\],Math\.max\(0,\w+\|\|0\)\)", code)
    # The loader's own: `for (let i = offset; i < data.length; i++) if (token[0] === data[i])`.
    assert not re.search(r"for\(let (\w+)=\w+;\1<\w+\.length;\1\+\+\)if\(\w+\[0\]===\w+\[\1\]\)",
                         code)
