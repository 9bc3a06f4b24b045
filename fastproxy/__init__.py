"""fastproxy: a high-performance HTTP reverse proxy and edge proxy."""

__version__ = "0.1.0.dev0"
