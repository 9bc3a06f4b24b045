"""Builds the C sources and Cython modules into extensions.

Only a C compiler is needed: Cython arrives as a build requirement.  The SIMD
scanners are compiled into the same objects with per-function target
attributes and chosen at run time, so a wheel built for baseline x86-64 still
uses AVX2 where the CPU has it.
"""

import glob
import os

from setuptools import Extension, setup

# src_c/fp_hash.c belongs to the balancers; everything else to the parser.
HASH_SOURCES = [os.path.join("src_c", "fp_hash.c")]
C_SOURCES = sorted(set(glob.glob(os.path.join("src_c", "*.c"))) - set(HASH_SOURCES))
CFLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"]


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
    return cythonize(
        ext,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )


setup(ext_modules=extensions())
