"""A context manager that makes any attempt to reach the network fail loudly and records it."""

from __future__ import annotations

import contextlib
import socket

_INTERNET = (socket.AF_INET, socket.AF_INET6)


@contextlib.contextmanager
def no_network():
    """Within the block, TCP/UDP connects and DNS look-ups raise `OSError`; yields the list of attempts."""
    attempts: list[str] = []
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)

    def refuse(what):
        attempts.append(what)
        raise OSError(f"network access attempted during an offline test: {what}")

    def connect(self, address):
        if self.family in _INTERNET:
            refuse(f"connect {address!r}")
        return saved[0](self, address)

    def connect_ex(self, address):
        if self.family in _INTERNET:
            refuse(f"connect_ex {address!r}")
        return saved[1](self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.create_connection = lambda address, *args, **kwargs: refuse(f"create_connection {address!r}")
    socket.getaddrinfo = lambda host, *args, **kwargs: refuse(f"getaddrinfo {host!r}")
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo = saved
