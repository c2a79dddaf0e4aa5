#!/usr/bin/env bash
# Set up, then run the default scenario (topologies/demo.yaml) end to end: bring up its
# containers and the orbit-driven network, deploy the wildfire workflow with the scenario's
# scheduler, send the drone's requests for two minutes, write the results directory and
# its report, tear everything down (also on Ctrl-C or failure) and print the summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
SCENARIO=${1:-topologies/demo.yaml}
shift || true
TESTBED=.venv/bin/testbed
trap '$TESTBED down >/dev/null' EXIT

$TESTBED validate "$SCENARIO"
$TESTBED run "$SCENARIO" "$@"
