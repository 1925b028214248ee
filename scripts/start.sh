#!/usr/bin/env bash
# Set up and start Nadir with its own Orthanc and an embedded SQLite database under var/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/nadir start "$@"
