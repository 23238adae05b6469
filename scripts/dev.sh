#!/usr/bin/env bash
# Set everything up on a Debian machine (as root), then run one task:
#   scripts/dev.sh demo    the demo of Generate & Install on the sandbox
#   scripts/dev.sh test    every test, in a private network namespace
#   scripts/dev.sh setup   only the setup
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the demo and the tests need: the web servers are run
# privately by the tests; iproute2 and util-linux make the test namespace.
# chromium and chromium-driver run the dashboard's browser tests (Selenium, no downloads).
# systemd brings systemd-analyze, which checks the renewal timer's units.
PACKAGES=(nginx apache2 caddy iproute2 util-linux openssl ca-certificates pebble
          chromium chromium-driver systemd)

setup_system() {
    local missing=()
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$pkg")
    done
    if ! command -v python3 >/dev/null; then
        missing+=(python3 python3-venv)
    elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

setup_python() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
}

task=${1:-help}
shift || true
case "$task" in
    setup) setup_system; setup_python ;;
    demo) setup_system; setup_python; exec .venv/bin/origincert demo "$@" ;;
    test) setup_system; setup_python; exec scripts/test-netns .venv/bin/pytest "$@" ;;
    *) echo "usage: scripts/dev.sh demo|test|setup" >&2; exit 2 ;;
esac
