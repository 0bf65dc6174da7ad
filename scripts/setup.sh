#!/usr/bin/env bash
# Create .venv and install the project (and its test tools with `--test`).
# Re-running is cheap: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

PY=$(find_python) || { echo "setup: Python 3.11 or newer is needed (apt-get install python3)." >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    echo "setup: installing python3-venv (Debian) ..."
    as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv ||
      { echo "setup: '$PY -m venv' failed; install python3-venv and retry." >&2; exit 1; }
    rm -rf .venv && "$PY" -m venv .venv
  fi
fi

stamp=".venv/.installed-$( (cat pyproject.toml; echo "test=$want_test") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing SynAnno Dash into .venv (a few minutes the first time) ..."
  .venv/bin/python -m pip install -q --upgrade pip
  # The CPU build of torch first: asked for by name it is the small local wheel here.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  if [ "$want_test" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[test]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  rm -f .venv/.installed-* && touch "$stamp"
fi
