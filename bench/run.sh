#!/usr/bin/env bash
# Every benchmark, each against its own baseline in the same run. Loopback only; bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export TCP_NODELAY=1
echo "== engine, synthetic data, PDF layout (pytest-benchmark)"
.venv/bin/pytest -q -p no:cacheprovider bench/ --benchmark-only --benchmark-columns=mean,median,stddev,rounds
echo "== evaluate endpoint under load (wrk)"
.venv/bin/python -m bench.load_evaluate
echo "== ingest: storescu -> Orthanc alone vs. listed by Nadir (told by Orthanc), SQLite and PostgreSQL"
.venv/bin/python -m bench.ingest --repeat 5
echo "== ingest: fetch_series_record request by request, Orthanc's index in SQLite vs PostgreSQL"
.venv/bin/python -m bench.ingest_profile --repeat 5
echo "== ingest: what Nadir asks of Orthanc while the pair arrives, PostgreSQL and SQLite"
.venv/bin/python -m bench.ingest_requests --index postgresql
.venv/bin/python -m bench.ingest_requests --index sqlite
echo "== worklist: 50 cases in one request vs the 2 + 2N requests of before"
.venv/bin/python -m bench.worklist --cases 50 --repeat 20
echo "== series metadata: Orthanc's DICOMweb plugin vs Nadir's index, 300-slice 512x512 series"
.venv/bin/python -m bench.series_metadata --repeat 7
echo "== report: PDF of 2 timepoints x 5 targets on 300-slice series"
.venv/bin/python -m bench.report

echo "== scale-out: one vs two Orthanc on a PostgreSQL index, one vs two Nadir nodes"
.venv/bin/python -m bench.scale_out
echo "== registration: moved-phantom accuracy; 300-slice 512x512 pair through Orthanc"
.venv/bin/python -m bench.registration
echo "== C-STORE: 10 pushes of the study pair (756 objects) while another process burns a core"
.venv/bin/python -m bench.dimse_pushes --pushes 10
echo "== upload: peak memory of nadir serve taking a 1 GB zip"
.venv/bin/python -m bench.upload_memory --gb 1
echo "== fault suite: each scenario 3 times on the study pair, index checked against Orthanc"
.venv/bin/python -m bench.faults --runs 3
echo "== report layout: the PDF with this checkout's template against 113eb14's, before the fixed-width tables (CPU seconds, and instructions under callgrind)"
.venv/bin/python -m bench.report_layout --against 113eb14 --rounds 10 --instructions
echo "== review workstation: first images (cold, warm, API requests) and scrolling in headless Chromium, 300-slice 512x512 pair"
npm --prefix web run build
.venv/bin/python -m bench.workstation --runs 5 --keys 40
echo "== review workstation: the image loader's multipart boundary search against Nadir's, one 512x512 frame answer"
(cd web && npx --no-install vitest bench --run)
echo "== token check: database lookup on every request vs the old 10 s cache"
.venv/bin/python -m bench.token_auth
echo "== request bodies: 3 parallel 400 MB bodies without a token vs 1 KB ones"
.venv/bin/python -m bench.anonymous_bodies --mb 400
echo "== share copy: 2 x 100 thin slices de-identified per instance vs Orthanc's study anonymize"
.venv/bin/python -m bench.share_copy --slices 100 --repeat 3
