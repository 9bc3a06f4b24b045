"""Builds the C sources and Cython modules into extensions.

Only a C compiler is needed: Cython arrives as a build requirement.  The SIMD
scanners are compiled into the same objects with per-function target
attributes and chosen at run time, so a wheel built for baseline x86-64 still
uses AVX2 where the CPU has it.
"""

import ast
import glob
import os
from pathlib import Path

from setuptools import Extension, setup

# src_c/fp_hash.c belongs to the balancers; everything else to the parser.
HASH_SOURCES = [os.path.join("src_c", "fp_hash.c")]
C_SOURCES = sorted(set(glob.glob(os.path.join("src_c", "*.c"))) - set(HASH_SOURCES))
CFLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"]

# The data path: plain Python modules that Cython compiles in place, each
# typed by the .pxd beside it (pure-Python mode).  The list lives in
# fastproxy/_ext.py, which also imports their sources under
# FASTPROXY_NO_EXTENSIONS; read without importing the package (a build must
# not need its dependencies).
def _hot_modules():
    tree = ast.parse(Path("fastproxy/_ext.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "HOT_MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise RuntimeError("fastproxy/_ext.py has no HOT_MODULES")


HOT_MODULES = _hot_modules()
# These keep Python's semantics (bounds and negative indexes checked, Python
# division), since the same source also runs uncompiled; a hot spot that
# needs less says so in its .pxd.  The .pxd gives the C types, not the
# annotations (those are for readers and type checkers); a local takes the
# C type of what it is assigned (infer_types: offsets, lengths and counts,
# far from any C overflow).
HOT_DIRECTIVES = {"language_level": 3, "annotation_typing": False, "infer_types": True}


def extensions():
    from Cython.Build import cythonize

    ext = [
        Extension(
            "fastproxy.parser._cparser",
            sources=["fastproxy/parser/_cparser.pyx", *C_SOURCES],
            include_dirs=["src_c"],
            extra_compile_args=CFLAGS,
        ),
        Extension(
            "fastproxy.balancers._cbalancers",
            sources=["fastproxy/balancers/_cbalancers.pyx", *HASH_SOURCES],
            include_dirs=["src_c"],
            extra_compile_args=CFLAGS,
        ),
    ]
    hot = [
        # include_dirs: the parser's .pxd, which some of them cimport, names fp_http.h.
        Extension(name, sources=[name.replace(".", "/") + ".py"], include_dirs=["src_c"])
        for name in HOT_MODULES
    ]
    return cythonize(
        ext,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ) + cythonize(hot, compiler_directives=HOT_DIRECTIVES)


setup(ext_modules=extensions())
