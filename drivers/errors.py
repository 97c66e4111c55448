"""The error tree every driver shares (camera, fingerprint, printer, reader).

Three kinds, because the kiosk reacts to each differently:

- `DeviceRetry`: the resident can fix it (no finger on the sensor, finger moved, smudged
  glass ...). The kiosk coaches and captures again. `reason` is a message key.
- `DeviceError`: the device failed while in use (protocol violation, bad checksum, unplugged,
  no answer in time, a hardware fault it reports). The kiosk takes the out-of-service path
  for that device and tells the technician; `kind` says which, `message_key` is what the
  resident is shown.
- `DeviceUnavailable`: the device is not there at start (no port, library not installed,
  nothing answers, wrong password). The kiosk starts without it and reports it in health.

Plus `DeviceCancelled`: the caller asked for the operation to stop (`cancel()`); it is
neither the resident's fault nor the device's.

Every class carries a message key (never user text): the UI translates it.
"""

from __future__ import annotations

from enum import StrEnum


class DeviceProblem(Exception):
    """Base of every driver error: `message_key` for the UI, `detail` for logs."""

    message_key: str = "device_problem"

    def __init__(self, message_key: str | None = None, detail: str = "", *, device: str = ""):
        if message_key is not None:
            self.message_key = message_key
        self.detail = detail
        self.device = device
        text = self.message_key + (f": {detail}" if detail else "")
        super().__init__(f"{device}: {text}" if device else text)


class DeviceRetry(DeviceProblem):
    """The resident can fix it. `reason` is a message key such as "finger_no_finger"."""

    def __init__(self, reason: str, detail: str = "", *, device: str = ""):
        super().__init__(reason, detail, device=device)

    @property
    def reason(self) -> str:
        return self.message_key


class DeviceErrorKind(StrEnum):
    """Why a device failed while in use."""

    PROTOCOL = "protocol"  # an answer that breaks the protocol (framing, type, length ...)
    CHECKSUM = "checksum"  # a packet whose checksum does not add up
    UNPLUGGED = "unplugged"  # the port went away (USB pulled, cable cut)
    TIMEOUT = "timeout"  # the device stopped answering within its time
    HARDWARE = "hardware"  # the device reports a fault of its own (sensor, flash ...)


class DeviceError(DeviceProblem):
    """The device failed: out-of-service path. `kind` is a `DeviceErrorKind`."""

    def __init__(self, kind: DeviceErrorKind, detail: str = "", *, device: str = ""):
        self.kind = DeviceErrorKind(kind)
        super().__init__(f"device_error_{self.kind.value}", detail, device=device)


class DeviceUnavailable(DeviceProblem):
    """The device is missing at start (no port, no library, no answer, refused)."""

    def __init__(self, detail: str = "", *, device: str = "", reason: str = "missing"):
        self.reason = reason
        super().__init__("device_unavailable", detail, device=device)


class DeviceCancelled(DeviceProblem):
    """The operation was cancelled by the caller (`cancel()`), not by a failure."""

    def __init__(self, detail: str = "", *, device: str = ""):
        super().__init__("device_cancelled", detail, device=device)
