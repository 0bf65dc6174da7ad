#!/usr/bin/env bash
# Quick start, command 2: set up, find or install Chromium, lint, run every test.
# Extra arguments go to pytest (e.g. -k open_data).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --test

if [ -z "${SYNANNO_CHROMIUM:-}" ]; then
  for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -x "$candidate" ] && export SYNANNO_CHROMIUM="$candidate" && break
  done
fi
if [ -z "${SYNANNO_CHROMIUM:-}" ]; then
  echo "test: installing Debian's chromium for the browser tests ..."
  if { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium; } ||
     { command -v sudo >/dev/null && sudo -n apt-get update -qq && sudo -n apt-get install -y -qq chromium; }; then
    export SYNANNO_CHROMIUM=/usr/bin/chromium
  else
    echo "test: Chromium is missing and could not be installed (needs root or sudo)." >&2
    echo "      Install it with 'apt-get install chromium', or set SYNANNO_CHROMIUM to a" >&2
    echo "      Chromium binary, then run ./test.sh again." >&2
    exit 1
  fi
fi

# PostgreSQL and Redis on 127.0.0.1 for the store and hosting tests: used when they answer,
# else installed and started from Debian's packages (as root or with sudo -n), else the
# tests that need them are skipped, each saying why (tests/data/databases.py).
bash scripts/test_services.sh || true

.venv/bin/ruff check .
.venv/bin/mypy synanno_dash pages app.py
exec .venv/bin/python -m pytest "$@"
