#!/usr/bin/env bash
# Tests KbscanJob/KbscanTask in the real Turbinia (PyPI turbinia==20240820) with the real kbscan
# on real evidence, in a virtual environment of its own, with a real redis-server on a free
# loopback port (started and stopped by tests/conftest.py).
#
#   integrations/turbinia/test.sh                  install what is missing, test
#   integrations/turbinia/test.sh --optional-install
#       as .ci/run calls it: when pip cannot install Turbinia (fails, or takes longer than
#       KBSCAN_TURBINIA_PIP_TIMEOUT seconds), print one line saying the test did not run and
#       why, and exit 0
#   integrations/turbinia/test.sh --install-only [--optional-install]
#       only make the venv (what pip takes most of the time for), so that it can run beside
#       other work; .ci/run starts it early in the background
#   integrations/turbinia/test.sh --bench
#       instead of the tests, tests/bench_task_cost.py: wall time and peak RSS of the kbscan
#       runs inside one task per evidence (docs/scale.md); KBSCAN_TURBINIA_BENCH_ROUNDS=5
#
# Environment:
#   KBSCAN                       the kbscan to test (default /usr/bin/kbscan, the Debian
#                                package's, else target/release/kbscan)
#   PYTHON                       the Python for the venv (default python3.11, else python3)
#   KBSCAN_TURBINIA_VENV         where the venv lives (default ~/.cache/kbscan-turbinia/venv-…,
#                                reused while constraints.txt and the Python are the same)
#   KBSCAN_TURBINIA_PIP_TIMEOUT  seconds pip may take (default 900)
#   KBSCAN_TURBINIA_KEEP=1       keep the Turbinia output folders of the run
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
started=$SECONDS

optional=false
bench=false
install_only=false
for arg in "$@"; do
    case "$arg" in
        --optional-install) optional=true ;;
        --bench) bench=true ;;
        --install-only) install_only=true ;;
        *) echo "usage: $0 [--optional-install] [--install-only] [--bench]" >&2; exit 2 ;;
    esac
done
TURBINIA_VERSION=20240820

# Why the test cannot run: fail (CI, or the environment is broken), or say so once.
not_run() {
    echo "turbinia test: did not run: $1"
    if $optional; then exit 0; fi
    exit 1
}

python="${PYTHON:-}"
if [ -z "$python" ]; then
    python=$(command -v python3.11 || command -v python3 || true)
fi
[ -n "$python" ] || not_run "no python3 found"
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    not_run "turbinia $TURBINIA_VERSION needs Python 3.10 or newer, $python is $pyver"

if ! $install_only; then
    kbscan="${KBSCAN:-}"
    if [ -z "$kbscan" ]; then
        if [ -x /usr/bin/kbscan ]; then kbscan=/usr/bin/kbscan; else kbscan="$repo/target/release/kbscan"; fi
    fi
    [ -x "$kbscan" ] || { echo "turbinia test: no kbscan at $kbscan (install the .deb or cargo build --release)" >&2; exit 1; }

    if ! command -v redis-server >/dev/null 2>&1; then
        if [ -n "${CI:-}" ]; then
            echo "turbinia test: redis-server (Debian redis-server) is missing under CI" >&2
            exit 1
        fi
        echo "SKIPPED turbinia test: redis-server not installed (scripts/install-test-deps installs it)"
        exit 0
    fi
fi

constraints="$here/constraints.txt"
key=$( (echo "$pyver"; cat "$constraints") | sha256sum | cut -c1-12)
venv="${KBSCAN_TURBINIA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kbscan-turbinia/venv-$key}"
if [ ! -e "$venv/.complete" ]; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    log=$(mktemp -t kbscan-turbinia-pip.XXXXXX.log)
    pip_started=$SECONDS
    limit="${KBSCAN_TURBINIA_PIP_TIMEOUT:-900}"
    if ! "$python" -m venv "$venv" >"$log" 2>&1; then
        rm -rf "$venv"
        not_run "python -m venv failed with $python $pyver (log: $log)"
    fi
    status=0
    timeout "$limit" "$venv/bin/pip" install --disable-pip-version-check --no-input \
        -c "$constraints" "turbinia==$TURBINIA_VERSION" dfvfs psutil pytest wheel >>"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        rm -rf "$venv"
        if [ "$status" -eq 124 ]; then
            not_run "pip install turbinia==$TURBINIA_VERSION took more than $limit s (log: $log)"
        fi
        not_run "pip install turbinia==$TURBINIA_VERSION failed with status $status: $(grep -m1 -E '^ERROR' "$log" || tail -n1 "$log") (log: $log)"
    fi
    touch "$venv/.complete"
    echo "turbinia test: pip installed turbinia==$TURBINIA_VERSION on Python $pyver in $((SECONDS - pip_started)) s ($venv)"
    rm -f "$log"
else
    echo "turbinia test: reusing $venv"
fi
if $install_only; then
    exit 0
fi

# Our package, installed as a deployment installs it (from a copy, so that no build files
# land in the repository), then registered in the venv's Turbinia.
work=$(mktemp -d -t kbscan-turbinia.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$here/pyproject.toml" "$here/README.md" "$here/kbscan_turbinia" "$work/"
"$venv/bin/pip" install --disable-pip-version-check --no-input -q --no-deps \
    --no-build-isolation --force-reinstall "$work" >"$work/pip.log" 2>&1 ||
    { cat "$work/pip.log" >&2; exit 1; }
"$venv/bin/python" -m kbscan_turbinia.deploy

echo "turbinia test: $("$venv/bin/python" -c 'import importlib.metadata as m; print("turbinia", m.version("turbinia"))'), Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), kbscan $("$kbscan" --version) at $kbscan"
status=0
if $bench; then
    targets=("$here/tests/bench_task_cost.py" -s -W ignore)
else
    targets=("$here/tests")
fi
(cd "$work" && PYTHONDONTWRITEBYTECODE=1 KBSCAN_TEST_BINARY="$kbscan" \
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -rs "${targets[@]}") || status=$?
echo "turbinia test: $((SECONDS - started)) s in all"
exit "$status"
