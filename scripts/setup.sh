#!/usr/bin/env bash
# Set up everything the testbed needs on a Debian 12 / Ubuntu 22.04+ machine, as root:
# Debian packages, a running Docker engine, the Python venv (.venv) and the node image.
# Idempotent: a second run finds everything in place and takes seconds.
# PYTHON picks the interpreter of the venv (default /usr/bin/python3).
set -euo pipefail

if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "[setup] error: run me as root" >&2; exit 1; }
    exec sudo --preserve-env=PYTHON "$0" "$@"
fi

START_MS=$(date +%s%3N)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-/usr/bin/python3}
VENV=.venv
STAMP=$VENV/.setup-stamp
DOCKERD_LOG=/var/log/dockerd.log
PACKAGES=(
    docker.io iproute2 iptables debootstrap iperf3 iputils-ping
    python3-venv python3-dev gcc libc6-dev make redis-server openssh-server ca-certificates
    debian-archive-keyring
    qemu-system-x86 busybox-static kmod procps
)

say() { echo "[setup] $*"; }
fail() { echo "[setup] error: $1 failed: $2" >&2; exit 1; }

# quietly STEP COMMAND...: run COMMAND with its output kept aside; on failure show its tail.
quietly() {
    local step=$1 log status=0
    shift
    log=$(mktemp)
    "$@" >"$log" 2>&1 || status=$?
    if ((status != 0)); then
        tail -n 25 "$log" | sed 's/^/  | /' >&2
        rm -f "$log"
        fail "$step" "'$*' exited with status $status"
    fi
    rm -f "$log"
}

missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PACKAGES[@]}" 2>/dev/null \
        | awk '$1 == "ii" {print $2}') || true
    for package in "${PACKAGES[@]}"; do
        grep -qxF "$package" <<<"$installed" || echo "$package"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        say "debian packages: present"
        return
    fi
    say "debian packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly "apt-get update" apt-get update
    quietly "debian packages" apt-get install -y --no-install-recommends "${missing[@]}"
}

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

start_engine() {
    if engine_up; then
        say "docker engine: running"
        return
    fi
    if [[ -d /run/systemd/system ]] && systemctl cat docker.service >/dev/null 2>&1; then
        say "docker engine: starting docker.service"
        quietly "docker engine" systemctl start docker.service
    else
        say "docker engine: starting dockerd (log: $DOCKERD_LOG)"
        setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    fi
    for _ in $(seq 60); do
        engine_up && { say "docker engine: running"; return; }
        sleep 1
    done
    tail -n 25 "$DOCKERD_LOG" 2>/dev/null | sed 's/^/  | /' >&2
    fail "docker engine" "dockerd did not answer within 60 s (log: $DOCKERD_LOG)"
}

make_venv() {
    local stamp
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "python venv: creating $VENV with $PYTHON"
        rm -rf "$VENV"
        quietly "python venv" "$PYTHON" -m venv "$VENV"
    fi
    stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [[ "$(cat "$STAMP" 2>/dev/null)" == "$stamp" ]]; then
        say "python venv: up to date"
        return
    fi
    say "python venv: installing the project (pyproject.toml changed)"
    quietly "python venv" "$VENV/bin/pip" install --disable-pip-version-check -e '.[host,dev]'
    echo "$stamp" >"$STAMP"
}

build_delay_line() {
    local binary
    binary=$("$VENV/bin/python" -m testbed.emulation.shaping.delayline_build) \
        || fail "delay line" "see the error above"
    say "delay line: $binary"
}

build_image() {
    local tag
    tag=$("$VENV/bin/testbed" image build) || fail "node image" "see the error above"
    say "node image: $tag"
}

install_packages
start_engine
make_venv
build_delay_line
build_image
ELAPSED_MS=$(($(date +%s%3N) - START_MS))
say "done in $((ELAPSED_MS / 1000)).$((ELAPSED_MS % 1000 / 100)) s"
