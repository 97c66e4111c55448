"""glibc's malloc settings applied to a process that is already running.

glibc reads its MALLOC_* environment variables once, when the process starts; a process
that wants the same settings later sets them through mallopt(3). The kiosk's systemd unit
gives them in its environment (assets/deploy/jiangmen-kiosk.service); `kiosk run` started
any other way, and the soak (bench/soak.py), apply them here.
"""

from __future__ import annotations

import contextlib

# glibc's environment names -> mallopt's parameter numbers (malloc.h).
MALLOPT = {
    "MALLOC_TRIM_THRESHOLD_": -1,
    "MALLOC_TOP_PAD_": -2,
    "MALLOC_MMAP_THRESHOLD_": -3,
    "MALLOC_MMAP_MAX_": -4,
    "MALLOC_ARENA_MAX": -8,
}


def mallopt(name: str, value: int) -> bool:
    """Sets the malloc parameter the environment variable `name` stands for in this process;
    False where there is no glibc (or it refused)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(None).mallopt(MALLOPT[name], int(value)))
    return False
