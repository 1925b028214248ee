#!/usr/bin/env bash
# Shared set-up: system packages (Orthanc, DCMTK, dicom3tools, poppler, Node.js), the .venv
# and the review workstation's build (web/dist).
# Usage: scripts/setup.sh [dev]   — "dev" adds the test tools (and Chromium for browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v Orthanc >/dev/null 2>&1 || [ -x /usr/sbin/Orthanc ] || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
# Copies sent again by C-STORE are spooled by a Python plugin inside Orthanc
# (pacs/resent_spool.py; Debian's orthanc-python 4.0).
[ -e /usr/share/orthanc/plugins/libOrthancPython.so ] || need+=(orthanc-python)
# The PDF report: WeasyPrint needs pango; harfbuzz-subset makes font subsetting fast.
if command -v dpkg >/dev/null 2>&1; then
  for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-urw-base35; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
# Orthanc 1.10 listens on every interface: a small preloaded library (pacs/loopback_bind.c),
# compiled here, keeps its listeners on loopback.
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
# The review workstation is built with npm (web/package-lock.json).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "${1:-}" = dev ]; then
  # Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
  # The scale-out tests run Orthanc's index in PostgreSQL (Debian's orthanc-postgresql).
  [ -e /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so ] || need+=(orthanc-postgresql)
  command -v storescu >/dev/null 2>&1 || need+=(dcmtk)
  command -v dciodvfy >/dev/null 2>&1 || need+=(dicom3tools)
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
  command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing ${need[*]} with apt-get" >&2
    $SUDO apt-get update -qq
    # Debian's orthanc package tries to start its own service; policy-rc.d may refuse: harmless.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  else
    echo "apt-get is not available: run Orthanc with docker/docker-compose.yml instead" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.nadir-installed-${1:-run}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >&2
  if [ "${1:-}" = dev ]; then
    .venv/bin/python -m pip install -q -e '.[dev]' >&2
  else
    .venv/bin/python -m pip install -q -e . >&2
  fi
  touch "$stamp"
fi
# Prints a warning (and Orthanc will listen on every interface) when it cannot be built.
.venv/bin/python -m pacs.bindshim >/dev/null || true

# The review workstation: npm ci when the lockfile changed, then the build into web/dist,
# skipped while web/dist/index.html is newer than every source and snapshot it is built from.
build_web() {
  local stamp=web/dist/index.html
  if [ -f "$stamp" ] && [ -z "$(find web/src web/index.html web/package.json web/package-lock.json \
      web/openapi.json web/vocabulary.json web/vite.config.ts web/tsconfig.json \
      -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is not available: the review workstation (web/) is not built; the API works without it" >&2
    return 0
  fi
  # node_modules/.nadir-lock is the lockfile the packages were installed from.
  if ! cmp -s web/package-lock.json web/node_modules/.nadir-lock; then
    echo "installing the web build's packages (npm ci)" >&2
    (cd web && npm ci --no-audit --no-fund --loglevel=error) >&2
    cp web/package-lock.json web/node_modules/.nadir-lock
  fi
  echo "building the review workstation (web/dist)" >&2
  (cd web && npm run --silent build) >&2
}
# Several checkouts' test runs may set up at once: one builds, the others then find it fresh.
if command -v flock >/dev/null 2>&1; then
  ( flock 9; build_web ) 9>web/.build.lock
else
  build_web
fi
