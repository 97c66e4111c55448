"""The systemd notify protocol: datagrams on the socket systemd names, nothing outside it."""

from __future__ import annotations

import os
import socket

from kiosk import sdnotify


def test_messages_reach_the_notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(2)
        env = {"NOTIFY_SOCKET": path}
        assert sdnotify.notify("READY=1", env)
        assert sdnotify.notify("WATCHDOG=1", env)
        assert server.recv(64) == b"READY=1"
        assert server.recv(64) == b"WATCHDOG=1"


def test_outside_systemd_nothing_is_sent():
    assert sdnotify.notify("READY=1", {}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/socket"}) is False


def test_watchdog_interval_is_half_the_timeout_for_this_process():
    pid = str(os.getpid())
    assert sdnotify.watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": pid}) == 10
    assert sdnotify.watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_interval_s({}) is None
    assert sdnotify.watchdog_interval_s({"WATCHDOG_USEC": "soon"}) is None
