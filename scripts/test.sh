#!/usr/bin/env bash
# Set up, lint, check the layer rules and run the whole test suite; extra arguments go to
# pytest. With no arguments the unit suite also runs under Python 3.10 (the oldest the
# project supports: Ubuntu 22.04, Jetson L4T) wherever one is installed, in .venv-py310.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
if (($# == 0)); then
    scripts/py310-units.sh
fi
exec .venv/bin/pytest "$@"
