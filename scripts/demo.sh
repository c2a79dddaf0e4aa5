#!/usr/bin/env bash
# Set up, then run the default scenario (topologies/demo.yaml): bring up its containers and
# the orbit-driven network, show status, ping between two satellites while the shaper
# follows the orbits, and tear everything down again (also on Ctrl-C or failure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
SCENARIO=${1:-topologies/demo.yaml}
TESTBED=.venv/bin/testbed
trap '$TESTBED down >/dev/null' EXIT

$TESTBED validate "$SCENARIO"
$TESTBED up "$SCENARIO" --detach --duration 5m
$TESTBED status
mapfile -t SATELLITES < <($TESTBED status --json | .venv/bin/python -c \
    'import json, sys; print("\n".join(n["name"] for n in json.load(sys.stdin)["nodes"] if n["kind"] == "satellite"))')
if ((${#SATELLITES[@]} >= 2)); then
    echo "--- path and ping ${SATELLITES[0]} -> ${SATELLITES[1]} (RTT = twice the one-way delay)"
    $TESTBED exec cloud -- python3 -c \
        "import urllib.request as u; print(u.urlopen('http://info.testbed:7070/path/${SATELLITES[0]}/${SATELLITES[1]}').read().decode())"
    $TESTBED exec "${SATELLITES[0]}" -- ping -c 10 -i 0.5 "${SATELLITES[1]}" || true
fi
echo "--- the EDGELESS vector_mul chain, placed round-robin over cloud, drone and a satellite"
$TESTBED deploy functions/vector_mul/workflow-chain.json --scheduler round-robin
sleep 3
$TESTBED records --last 2
$TESTBED status
