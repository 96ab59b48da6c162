"""The web chat's port: a free one when none is set, or a clear error when the chosen one is taken."""

from __future__ import annotations

import errno
import socket

from assistant.errors import AssistantError, PortInUseError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port(host: str, port: int) -> None:
    """Raise PortInUseError when another program already listens on host:port."""
    with socket.socket() as sock:
        # SO_REUSEADDR: a port left in TIME_WAIT by a stopped app is free; a listening one is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(port) from None
            raise AssistantError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): set ASSISTANT_HOST to an address "
                "of this machine."
            ) from None
