"""Write what the web build shares with the API: ``web/openapi.json`` and ``web/vocabulary.json``.

* ``openapi.json`` is the document ``/openapi.json`` serves; the build generates the
  TypeScript types from it (openapi-typescript), so it needs no running server.
* ``vocabulary.json`` holds the words the API and the report use for codes (response
  categories, lesion kinds and statuses, which statuses a kind takes), which roles
  may do what, and the report's window presets, so the viewer shows the same words and
  owns none of its own.

Run after changing an API model or a word, and commit the result:

    .venv/bin/python web/scripts/snapshot_api.py

``--check`` exits 1 when a snapshot differs from what the code serves (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def openapi_document() -> dict[str, Any]:
    from api.app import create_app
    from api.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        # A throwaway SQLite file; nothing connects to Orthanc while the document is built.
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/openapi.db")
        app = create_app(settings, run_ingest=False)
        document = app.openapi()
        app.state.engine.dispose()
    return document


def vocabulary() -> dict[str, Any]:
    from api.report import vocabulary as words
    from api.workflow.roles import CASE_MANAGERS, MEASURERS, READERS, SHARE_READERS
    from imaging.render.window import PRESETS
    from measurement.vocabulary import STATUSES_BY_KIND, LesionKind

    return {
        "lesion_kinds": [kind.value for kind in LesionKind],
        "statuses_by_kind": {kind.value: [s.value for s in statuses]
                             for kind, statuses in STATUSES_BY_KIND.items()},
        "kind_names": dict(words.KIND_NAMES),
        "status_meanings": dict(words.STATUS_MEANINGS),
        "response_meanings": dict(words.RESPONSE_MEANINGS),
        "response_display_codes": dict(words.RESPONSE_DISPLAY_CODES),
        "criteria_names": dict(words.CRITERIA_NAMES),
        # Which controls to show; the API checks the same lists on every request.
        "roles": {"readers": [r.value for r in READERS],
                  "measurers": [r.value for r in MEASURERS],
                  "case_managers": [r.value for r in CASE_MANAGERS],
                  "share_readers": [r.value for r in SHARE_READERS]},
        # The report's key-image windows, so the viewer's presets show the same grey levels.
        "window_presets": {name: {"center": w.center, "width": w.width}
                           for name, w in PRESETS.items()},
    }


def snapshots() -> dict[Path, str]:
    sys.path.insert(0, str(ROOT))
    return {path: json.dumps(content, indent=2, sort_keys=True) + "\n"
            for path, content in ((WEB / "openapi.json", openapi_document()),
                                  (WEB / "vocabulary.json", vocabulary()))}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed snapshots instead of writing them")
    args = parser.parse_args()
    stale = []
    for path, text in snapshots().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"out of date: {names}; run .venv/bin/python web/scripts/snapshot_api.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
