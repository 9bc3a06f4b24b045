#!/bin/sh
# Builds and runs bench.c: fastproxy's C parser at every scan level and,
# when it can be fetched, picohttpparser from the pycohttpparser sdist on
# PyPI.  Everything is fetched and built in a temporary directory that is
# removed at exit; nothing is copied into the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../.."
cc=${CC:-cc}
# the flags setup.py builds the extension with (baseline x86-64, no -m flags)
cflags="-O3 -std=c11 -Wall -Wextra -Wno-unused-parameter"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

pico_flags=""
if python3 -m pip download --quiet --no-deps --no-binary :all: pycohttpparser -d "$tmp/dl" \
        >"$tmp/pip.log" 2>&1; then
    for archive in "$tmp"/dl/*; do
        case "$archive" in
        *.tar.gz | *.tgz) tar -xzf "$archive" -C "$tmp" ;;
        *.zip) (cd "$tmp" && python3 -m zipfile -e "$archive" .) ;;
        esac
    done
    pico_c=$(find "$tmp" -name picohttpparser.c | head -n 1)
fi
if [ -n "${pico_c:-}" ]; then
    pico_dir=$(dirname "$pico_c")
    "$cc" -O3 -c "$pico_c" -o "$tmp/pico.o"
    # the same source again with its SSE4.2 path, under other names
    "$cc" -O3 -msse4.2 -Dphr_parse_request=phr_parse_request_sse42 \
        -Dphr_parse_response=phr_parse_response_sse42 -Dphr_parse_headers=phr_parse_headers_sse42 \
        -Dphr_decode_chunked=phr_decode_chunked_sse42 \
        -Dphr_decode_chunked_is_in_data=phr_decode_chunked_is_in_data_sse42 \
        -c "$pico_c" -o "$tmp/pico_sse42.o"
    pico_flags="-DHAVE_PICO -I$pico_dir $tmp/pico.o $tmp/pico_sse42.o"
    echo "picohttpparser: from $(basename "$(ls "$tmp"/dl/*)")"
else
    echo "picohttpparser: not available (pip could not fetch the pycohttpparser sdist," \
         "or it holds no picohttpparser.c); benchmarking fastproxy only"
    sed 's/^/  pip: /' "$tmp/pip.log" | tail -n 3
fi
# shellcheck disable=SC2086
"$cc" $cflags -I"$src" -o "$tmp/bench" "$here/bench.c" "$src"/fp_*.c $pico_flags
"$tmp/bench"
