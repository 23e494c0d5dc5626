#!/usr/bin/env bash
# The whole test suite, from a fresh machine: provision the live target interpreters (needs root),
# create the virtualenv, install the project with its test tools, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

bash tests/provision.sh >/dev/null

if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
# pip 25.0 and later write entry-point wrappers without `import re` (5-8 ms of every `safeattach` start; the
# bench installs with this pip, as a user's current pip, pipx or uv would)
.venv/bin/python -m pip install -q --disable-pip-version-check 'pip>=25.0' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true

echo "== ruff"
.venv/bin/ruff check app core tests bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest -q -rfEs "$@"
