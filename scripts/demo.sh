#!/usr/bin/env bash
# Set up, then run the demo scenario (topologies/demo.yaml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
exec .venv/bin/testbed validate topologies/demo.yaml
