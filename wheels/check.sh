#!/usr/bin/env bash
# Checks a built wheel the way a user gets it: installed into a fresh virtual
# environment whose PATH holds no C compiler, run from outside the source tree.
#
#   wheels/check.sh [WHEEL]      # default: the newest manylinux wheel for this Python in wheels/dist/
#   PYTHON=python3.12 wheels/check.sh
#
# Fails (non-zero) unless
#   1. the wheel and its dependencies install from binaries only (nothing compiles);
#   2. `fastproxy version` reports every extension active (FASTPROXY_REQUIRE_EXTENSIONS=1),
#      and the AVX2 scanner where the CPU has AVX2 (run-time dispatch in a baseline wheel);
#   3. a real request through `fastproxy run` to an origin on 127.0.0.1 comes back right.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"

fail() {
    echo "wheels/check.sh: FAIL: $*" >&2
    exit 1
}

wheel="${1:-}"
if [ -z "$wheel" ]; then
    tag="$("$python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
    wheel="$(ls -t "$here"/dist/fastproxy_edge-*-"$tag"-*manylinux*.whl 2>/dev/null | head -n 1 || true)"
    [ -n "$wheel" ] || fail "no $tag wheel in wheels/dist/: run wheels/build.sh first"
fi
[ -f "$wheel" ] || fail "$wheel is not a file"
wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"
echo "== checking $(basename "$wheel")"

has_avx2=0
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && [ -z "${FASTPROXY_FORCE_SCALAR:-}" ]; then
    has_avx2=1
fi

work="$(mktemp -d)"
rm="$(command -v rm)"
trap '"$rm" -rf "$work"' EXIT
"$python" -m venv "$work/venv"

# From here on the PATH is the virtual environment's bin directory alone: no
# compiler, no system tools, nothing from the source tree.
export PATH="$work/venv/bin"
# The wheel is under test, not the caller's settings (FASTPROXY_FORCE_SCALAR is honoured above).
unset PYTHONPATH CC CXX FASTPROXY_NO_EXTENSIONS
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore FASTPROXY_REQUIRE_EXTENSIONS=1
for compiler in cc gcc clang; do
    if command -v "$compiler" >/dev/null; then
        fail "a C compiler ($compiler) is on the check's PATH"
    fi
done
cd "$work"

echo "== install (binaries only)"
python -m pip install -q --only-binary :all: "$wheel" || fail "the wheel did not install from binaries"

location="$(python -c 'import fastproxy; print(fastproxy.__file__)')"
case "$location" in
    "$work/venv/"*) ;;
    *) fail "fastproxy was imported from $location, not from the fresh environment" ;;
esac

echo "== fastproxy version"
fastproxy version || fail "fastproxy version failed"
fastproxy version --json >"$work/version.json" || fail "fastproxy version --json failed"
python - "$work/version.json" "$has_avx2" <<'PY' || fail "the extensions are not all active"
import json, sys
info = json.load(open(sys.argv[1]))
extensions = info["extensions"]
inactive = sorted(name for name, impl in extensions.items() if impl != "c")
if not extensions or inactive:
    sys.exit(f"extensions: {extensions or 'none loaded'}")
if sys.argv[2] == "1" and info["scan_level"] != "avx2":
    sys.exit(f"the CPU has AVX2 but the parser chose {info['scan_level']!r}")
print(f"extensions active: {', '.join(sorted(extensions))}; scan level {info['scan_level']}")
PY

echo "== a request through fastproxy run"
python "$here/check_request.py" || fail "the proxied request failed"
echo "wheels/check.sh: OK"
