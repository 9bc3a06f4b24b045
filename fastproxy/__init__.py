"""fastproxy: a high-performance HTTP reverse proxy and edge proxy."""

__version__ = "0.1.0.dev0"

from fastproxy import _ext  # after the version, which setup.py reads

if _ext.NO_EXTENSIONS:
    # Before any data-path module loads: their sources, not their compiled forms.
    _ext.prefer_sources()
