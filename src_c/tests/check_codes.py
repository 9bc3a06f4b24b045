"""Checks that the C error table, field ids and constants match codes.py.

Usage: python3 check_codes.py FP_TESTS_BINARY CODES_PY
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys


def main() -> int:
    binary, codes_path = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("codes", codes_path)
    codes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(codes)
    out = subprocess.run([binary, "--dump-codes"], check=True, capture_output=True, text=True).stdout
    problems: list[str] = []
    errors, fields, consts, scans = {}, {}, {}, {}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "error":
            code, name, status, message = rest.split(" ", 3)
            errors[int(code)] = (name, int(status), message)
        elif kind == "field":
            name, lower, upper = rest.split()
            fields[name.encode()] = (int(lower), int(upper))
        elif kind == "const":
            name, value = rest.split()
            consts[name] = int(value)
        elif kind == "scan":
            level, name = rest.split()
            scans[int(level)] = name
    want_errors = {e.code: (e.name, e.status, e.message) for e in codes.ERRORS}
    if errors != want_errors:
        for code in sorted(set(errors) | set(want_errors)):
            if errors.get(code) != want_errors.get(code):
                problems.append(f"error {code}: C {errors.get(code)} != codes.py {want_errors.get(code)}")
    for name, want in codes.FIELD_IDS.items():
        if fields.get(name) != (want, want):
            problems.append(f"field {name!r}: C ids {fields.get(name)} != {want}")
    if set(fields) != set(codes.FIELD_IDS):
        problems.append(f"field names differ: {sorted(set(fields) ^ set(codes.FIELD_IDS))}")
    for name, value in consts.items():
        want = len(codes.FIELD_IDS) + 1 if name == "H__COUNT" else getattr(codes, name, None)
        if value != want:
            problems.append(f"{name}: C {value} != codes.py {want}")
    if [scans.get(i) for i in range(len(codes.SCAN_LEVEL_NAMES))] != list(codes.SCAN_LEVEL_NAMES):
        problems.append(f"scan level names: C {scans} != codes.py {codes.SCAN_LEVEL_NAMES}")
    for p in problems:
        print("check_codes:", p)
    print(f"check_codes: {len(want_errors)} errors, {len(codes.FIELD_IDS)} field ids, "
          f"{len(consts)} constants compared, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
