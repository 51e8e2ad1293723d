"""Exit 1 with a message when ``HOST PORT`` cannot be listened on (another server holds it).

``make run`` calls it before it migrates, loads the demo or starts the worker and the
scheduler, so a second ``make run`` on a busy port stops at once and starts nothing. Only the
standard library: it runs before the virtualenv exists.
"""

from __future__ import annotations

import errno
import socket
import sys


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or ``None`` when it is free."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        return f"cannot resolve the address {host!r}: {error.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # The development server sets SO_REUSEADDR too: a port whose last connections are
        # closing (TIME_WAIT) is free for it, a port another server listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (another `make run`?)"
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    problem = port_problem(host, port)
    if problem is None:
        return 0
    print(
        f"make run: {problem}.\n"
        f"Stop the server that holds it, or start on another port: make run PORT={port + 1}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
