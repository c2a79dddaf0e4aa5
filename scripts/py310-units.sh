#!/usr/bin/env bash
# The unit suite under Python 3.10, in its own venv (.venv-py310, made once and refreshed
# when pyproject.toml changes). PYTHON310 names the interpreter; otherwise python3.10 on the
# PATH or under pyenv. Without one it says so and exits 0: 3.11 is what the machines run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=.venv-py310
STAMP=$VENV/.setup-stamp

find_python310() {
    local candidate
    for candidate in "${PYTHON310:-}" "$(command -v python3.10 || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
        if [[ -n "$candidate" && -x "$candidate" ]] \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
}

python=$(find_python310)
if [[ -z "$python" ]]; then
    echo "[py310] no Python 3.10 on this machine: the unit suite ran under $(.venv/bin/python -V) only"
    exit 0
fi
stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$stamp" ]]; then
    echo "[py310] installing the project into $VENV with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    log=$(mktemp)
    if ! "$VENV/bin/pip" install --disable-pip-version-check -e '.[host,dev]' >"$log" 2>&1; then
        tail -n 25 "$log" | sed 's/^/  | /' >&2
        echo "[py310] error: pip install into $VENV failed" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$stamp" >"$STAMP"
fi
echo "[py310] unit suite under $("$VENV/bin/python" -V)"
"$VENV/bin/pytest" tests/unit -q -p no:cacheprovider
