"""Connections to upstream servers: one keep-alive pool per server
(``pool.py``) of connections that relay responses (``connection.py``)."""
