#!/usr/bin/env bash
# Quick start, command 1: set up, write the demo dataset on first run, serve the app.
# Extra arguments go to `synanno-dash serve` (e.g. --host 0.0.0.0 --port 8050).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec .venv/bin/synanno-dash serve "$@"
