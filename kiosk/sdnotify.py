"""systemd's notify protocol (sd_notify(3)), without a dependency: one datagram per message
to the socket systemd names in $NOTIFY_SOCKET.

The kiosk says READY=1 when its first screen is drawn and WATCHDOG=1 from the UI thread's
clock, so a hung UI loop (not only a dead process) is restarted by the unit's WatchdogSec.
Outside systemd (no $NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import os
import socket


def notify(message: str, environ: dict | None = None) -> bool:
    """Sends `message` ("READY=1", "WATCHDOG=1", "STATUS=..."); True when it was sent."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False
    return True


def watchdog_interval_s(environ: dict | None = None) -> float | None:
    """Half the watchdog timeout systemd set for this process ($WATCHDOG_USEC), or None."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.5, int(usec) / 2e6)
    except ValueError:
        return None
