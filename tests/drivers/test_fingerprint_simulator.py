"""The simulator's own face: image sources, text commands, control socket, stream transport."""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest
from PIL import Image

from drivers.fingerprint import r30x_protocol as p
from drivers.fingerprint.r30x import R30xSensor
from drivers.fingerprint.simulator import (
    FolderImages,
    R30xSimulator,
    SyntheticImages,
    default_images,
    eval_data_root,
    fit_to_sensor,
)
from drivers.fingerprint.synthetic import synthetic_fingerprint
from tests.conftest import REPO

FAST = {"response_timeout": 0.5, "poll_interval": 0.02}


def test_synthetic_fingers_are_deterministic_ridged_and_distinct():
    a = synthetic_fingerprint(0, 0)
    assert a.shape == (288, 256) and a.dtype == np.uint8
    assert np.array_equal(a, synthetic_fingerprint(0, 0))
    assert not np.array_equal(a, synthetic_fingerprint(0, 1))
    # ridges: dark and light both present inside the finger, white outside
    centre = a[100:190, 80:180]
    assert (centre < 100).mean() > 0.2 and (centre > 160).mean() > 0.2
    assert a[0, 0] == 255 and a[-1, -1] == 255

    # two impressions of one finger agree more than two fingers do (best shift, by FFT)
    def best_correlation(x, y):
        x = (x - x.mean()) / x.std()
        y = (y - y.mean()) / y.std()
        xc = np.fft.irfft2(np.fft.rfft2(x) * np.conj(np.fft.rfft2(y)), s=x.shape)
        return float(xc.max() / x.size)

    same = best_correlation(a, synthetic_fingerprint(0, 1))
    other = best_correlation(a, synthetic_fingerprint(1, 0))
    assert same > other + 0.2, (same, other)


def test_fit_to_sensor_crops_large_and_pads_small_images():
    big = np.arange(400 * 300, dtype=np.uint32).reshape(400, 300) % 251
    out = fit_to_sensor(big)
    assert out.shape == (288, 256)
    assert np.array_equal(out, big[56:344, 22:278].astype(np.uint8))
    small = np.zeros((100, 80), dtype=np.uint8)
    out = fit_to_sensor(small)
    assert out.shape == (288, 256) and out[0, 0] == 255 and out[144, 128] == 0
    assert (out == 0).sum() == 100 * 80


def test_folder_images_in_turn(tmp_path):
    (tmp_path / "db").mkdir()
    for i in range(3):
        Image.fromarray(np.full((300, 300), 10 * i, dtype=np.uint8)).save(
            tmp_path / "db" / f"10{i}_1.png"
        )
    (tmp_path / "notes.txt").write_text("not an image")
    src = FolderImages(tmp_path)
    assert len(src) == 3
    assert [int(src.next_image()[0, 0]) for _ in range(4)] == [0, 10, 20, 0]
    with pytest.raises(FileNotFoundError):
        FolderImages(tmp_path / "empty-does-not-exist")


def test_default_images_are_the_eval_data_or_synthetic(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_EVAL_DATA", str(tmp_path))
    assert eval_data_root() == tmp_path
    assert isinstance(default_images(), SyntheticImages)  # fresh clone: no data
    (tmp_path / "fingers").mkdir()
    Image.fromarray(np.zeros((300, 300), dtype=np.uint8)).save(tmp_path / "fingers" / "1_1.png")
    assert isinstance(default_images(), FolderImages)
    monkeypatch.delenv("KIOSK_EVAL_DATA")
    assert eval_data_root() == REPO.parent / "shared" / "data"


def test_shared_fingers_are_served_when_present():
    folder = eval_data_root() / "fingers"
    if not folder.is_dir():
        pytest.skip(f"no evaluation data at {folder} (set KIOSK_EVAL_DATA)")
    with R30xSimulator() as sim:
        assert isinstance(sim.images, FolderImages) and len(sim.images) >= 1
        sensor = R30xSensor(sim.path, **FAST)
        sensor.open()
        shot = sensor.capture(timeout=1)
        sensor.close()
    expected = fit_to_sensor(np.asarray(Image.open(sim.images.paths[0]).convert("L")))
    assert np.array_equal(shot.image, p.quantise(expected))


def test_text_commands_script_the_faults():
    with R30xSimulator(SyntheticImages(1, 2)) as sim:
        assert sim.command("no_finger 5") == "ok"
        assert "finger=False" in sim.command("status")
        assert sim.command("finger") == "ok"
        assert sim.command("retry moved 2") == "ok"
        assert sim.command("corrupt 1 data") == "ok"
        assert sim.command("slow 0.1") == "ok"
        assert sim.command("line_speed off") == "ok"
        assert sim.command("image 1") == "ok"
        status = sim.command("status")
        assert "scripted=2" in status and "corrupt=1" in status and "slow_s=0.1" in status
        assert sim.command("unplug after=100 mode=hangup") == "ok"
        assert sim.command("reset") == "ok"
        assert "scripted=0" in sim.command("status")
        assert sim.command("retry sneezed").startswith("error")
        assert sim.command("teleport").startswith("error")
        assert sim.command("unplug mode=gently").startswith("error")
        assert sim.command('image "unclosed').startswith("error")
        assert sim.command("").startswith("error")


def test_control_socket(tmp_path):
    path = tmp_path / "sim.sock"
    with R30xSimulator(SyntheticImages(1, 1), control_socket=path) as sim:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(path))
            s.sendall(b"no_finger\nstatus\n")
            answers = s.makefile("r", encoding="utf-8", newline="\n")
            assert answers.readline().strip() == "ok"
            assert "finger=False" in answers.readline()
        assert sim.status()["finger"] is False
    assert not path.exists()


class SocketSerial:
    """A minimal pyserial-compatible stream over a socket (what the simulator and the driver
    need: read with a timeout, write, in_waiting, baudrate, reset_input_buffer, close)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.timeout: float | None = 0.05
        self.baudrate = 57600
        self._lock = threading.Lock()

    @property
    def in_waiting(self) -> int:
        return 0

    def read(self, n: int = 1) -> bytes:
        self.sock.settimeout(self.timeout)
        try:
            return self.sock.recv(n)
        except TimeoutError:
            return b""

    def write(self, data: bytes) -> int:
        self.sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self.sock.setblocking(False)
        try:
            while self.sock.recv(65536):
                pass
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        self.sock.close()


def test_serving_any_pyserial_compatible_stream():
    host_end, module_end = socket.socketpair()
    sim = R30xSimulator(SyntheticImages(1, 1))
    assert sim.start(stream=SocketSerial(module_end)) is None
    try:
        sensor = R30xSensor(stream=SocketSerial(host_end), **FAST)
        info = sensor.open()
        assert info.details["baudrate"] == 115200 == sim.baudrate
        shot = sensor.capture(timeout=1)
        assert np.array_equal(shot.image, p.quantise(sim.served[-1]))
        sensor.close()
    finally:
        sim.stop()
        host_end.close()
