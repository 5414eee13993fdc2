#!/usr/bin/env bash
# Run the PocketBase-SDK compatibility tests against a running server.
#
#   STOA_URL=http://127.0.0.1:8090 Tests/python/run.sh [VENV_DIR] [extra pytest args...]
#
# VENV_DIR defaults to .build/pyvenv (relative to the current directory).
# The venv is created if missing; requirements are (re)installed quietly.
# Exits with pytest's exit code (2 if STOA_URL is unset).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-.build/pyvenv}"
if [ "$#" -gt 0 ]; then shift; fi

if [ -z "${STOA_URL:-}" ]; then
    echo "run.sh: STOA_URL must be set to the base URL of the server under test" >&2
    exit 2
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

set +e
PYTHONDONTWRITEBYTECODE=1 STOA_URL="$STOA_URL" "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$HERE" "$@"
rc=$?
set -e
exit $rc
