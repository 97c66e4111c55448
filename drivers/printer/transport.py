"""Byte pipes to a printer: TCP (port 9100, our own socket code, standard library only) and
USB / serial through python-escpos's backends (their `open`, `_raw` and `_read`).

Every transport has the same four methods and the same error kinds (drivers.errors):

- `open()`: connect; `DeviceUnavailable` when nothing is there or the library is missing.
- `write(data)`: all of `data` or an error: `DeviceError(TIMEOUT)` when the printer stops
  taking bytes within the write timeout (its buffer is full because it stopped printing),
  `DeviceError(UNPLUGGED)` when the line is gone.
- `read(max_bytes, timeout)`: what has arrived, waiting at most `timeout` seconds for the
  first byte; b"" when nothing came. `DeviceError(UNPLUGGED)` when the line is gone.
- `close()`: idempotent, never raises.

python-escpos is optional: `EscposBackendTransport.is_usable()` says whether it (and pyusb
or pyserial) can be imported, without importing it at module load.
"""

from __future__ import annotations

import abc
import contextlib
import importlib.util
import socket
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import DeviceError, DeviceErrorKind, DeviceUnavailable

DEVICE = "printer"


class Transport(abc.ABC):
    """A byte pipe to a printer (see the module docstring for the duties)."""

    #: Where it goes, for logs and PrinterInfo (no credentials).
    name: str = "transport"

    @classmethod
    def is_usable(cls) -> bool:
        return True

    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def read(self, max_bytes: int, timeout: float) -> bytes: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class TcpTransport(Transport):
    """A raw TCP connection ("JetDirect", port 9100), every call bounded by a timeout."""

    def __init__(
        self,
        host: str,
        port: int = 9100,
        *,
        connect_timeout: float = 3.0,
        write_timeout: float = 10.0,
    ):
        self.host = host
        self.port = int(port)
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.name = f"tcp://{host}:{self.port}"
        self._sock: socket.socket | None = None

    def open(self) -> None:
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as e:
            raise DeviceUnavailable(f"{self.name}: {e}", device=DEVICE, reason="no_answer") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def _socket(self) -> socket.socket:
        if self._sock is None:
            raise DeviceError(DeviceErrorKind.UNPLUGGED, "not connected", device=DEVICE)
        return self._sock

    def write(self, data: bytes) -> None:
        sock = self._socket()
        try:
            sock.settimeout(self.write_timeout)
            sock.sendall(data)
        except TimeoutError as e:
            raise DeviceError(DeviceErrorKind.TIMEOUT, f"{self.name}: write", device=DEVICE) from e
        except OSError as e:
            raise DeviceError(DeviceErrorKind.UNPLUGGED, f"{self.name}: {e}", device=DEVICE) from e

    def read(self, max_bytes: int, timeout: float) -> bytes:
        sock = self._socket()
        try:
            sock.settimeout(max(timeout, 0.0))  # 0: non-blocking
            data = sock.recv(max_bytes)
        except (TimeoutError, BlockingIOError):
            return b""
        except OSError as e:
            raise DeviceError(DeviceErrorKind.UNPLUGGED, f"{self.name}: {e}", device=DEVICE) from e
        if not data:  # the peer closed the connection
            raise DeviceError(DeviceErrorKind.UNPLUGGED, f"{self.name}: closed", device=DEVICE)
        return data

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


def _is_timeout(exc: BaseException) -> bool:
    # pyusb: USBTimeoutError; pyserial: SerialTimeoutException. Matched by name so that
    # neither library has to be importable here.
    return "timeout" in type(exc).__name__.lower() or isinstance(exc, TimeoutError)


class EscposBackendTransport(Transport):
    """A python-escpos printer object used as a byte pipe (USB or serial).

    `factory` builds the (unopened) python-escpos object; it is called in `open`, so a
    missing library or device becomes `DeviceUnavailable` there. Per-call timeouts are set on
    the backend's own device object where it has one (pyserial `timeout` / `write_timeout`,
    pyusb `default_timeout` in ms); python-escpos's `_read` asks for up to 16 bytes.
    """

    #: The python modules this transport needs (python-escpos plus its backend library).
    needs: tuple[str, ...] = ("escpos",)

    def __init__(self, factory: Callable[[], Any], name: str, *, needs: tuple[str, ...] = ()):
        self._factory = factory
        self.name = name
        self._needs = needs or self.needs
        self._printer: Any = None

    def usable(self) -> bool:
        """Whether python-escpos and this backend's library can be imported here."""
        return all(_importable(m) for m in self._needs)

    @classmethod
    def is_usable(cls) -> bool:
        return _importable("escpos")

    def open(self) -> None:
        self.close()
        if not self.usable():
            raise DeviceUnavailable(
                f"{self.name}: needs {', '.join(self._needs)}", device=DEVICE, reason="library"
            )
        try:
            printer = self._factory()
            printer.open()
        except Exception as e:  # DeviceNotFoundError, NoBackendError, SerialException ...
            raise DeviceUnavailable(f"{self.name}: {e}", device=DEVICE, reason="no_answer") from e
        self._printer = printer

    def _backend(self) -> Any:
        if self._printer is None:
            raise DeviceError(DeviceErrorKind.UNPLUGGED, "not connected", device=DEVICE)
        return self._printer

    def write(self, data: bytes) -> None:
        printer = self._backend()
        try:
            printer._raw(data)
        except Exception as e:
            kind = DeviceErrorKind.TIMEOUT if _is_timeout(e) else DeviceErrorKind.UNPLUGGED
            raise DeviceError(kind, f"{self.name}: {e}", device=DEVICE) from e

    def read(self, max_bytes: int, timeout: float) -> bytes:
        printer = self._backend()
        device = getattr(printer, "_device", None)
        if device is not None and hasattr(device, "default_timeout"):  # pyusb, milliseconds
            device.default_timeout = max(1, int(timeout * 1000))
        elif device is not None and hasattr(device, "timeout"):  # pyserial, seconds
            device.timeout = timeout
        deadline = time.monotonic() + timeout
        while True:
            try:
                data = bytes(printer._read())
            except NotImplementedError as e:
                raise DeviceError(
                    DeviceErrorKind.PROTOCOL, f"{self.name}: cannot read", device=DEVICE
                ) from e
            except Exception as e:
                if _is_timeout(e):
                    data = b""
                else:
                    raise DeviceError(
                        DeviceErrorKind.UNPLUGGED, f"{self.name}: {e}", device=DEVICE
                    ) from e
            if data or time.monotonic() >= deadline:
                return data[:max_bytes]
            time.sleep(0.01)

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is None:
            return
        with contextlib.suppress(Exception):  # closing must never raise
            printer.close()


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def usb_transport(
    vendor_id: int,
    product_id: int,
    *,
    timeout: float = 10.0,
    in_ep: int = 0x82,
    out_ep: int = 0x01,
) -> EscposBackendTransport:
    """A USB printer (needs python-escpos and pyusb, plus libusb-1.0 on the system).
    `timeout` bounds every write, in seconds."""

    def factory() -> Any:
        from escpos.printer import Usb

        return Usb(
            vendor_id, product_id, timeout=max(1, int(timeout * 1000)), in_ep=in_ep, out_ep=out_ep
        )

    return EscposBackendTransport(
        factory, f"usb://{vendor_id:04x}:{product_id:04x}", needs=("escpos", "usb")
    )


def serial_transport(
    device: str, *, baudrate: int = 9600, timeout: float = 1.0, write_timeout: float = 10.0
) -> EscposBackendTransport:
    """A serial printer (needs python-escpos and pyserial). `timeout` is the read timeout,
    `write_timeout` bounds every write, both in seconds."""

    def factory() -> Any:
        from escpos.printer import Serial

        class _Serial(Serial):
            def open(self, raise_not_found: bool = True) -> None:
                super().open(raise_not_found)
                if self._device:
                    self._device.write_timeout = write_timeout

        return _Serial(devfile=device, baudrate=baudrate, timeout=timeout)

    return EscposBackendTransport(
        factory, f"serial://{device}?baudrate={baudrate}", needs=("escpos", "serial")
    )
