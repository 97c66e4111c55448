"""Fidelity of the simulator: a third-party client (pyfingerprint, from PyPI, written against
real ZhianTec modules) drives it and gets what a real module gives."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pyfingerprint.pyfingerprint import PyFingerprint

from drivers.fingerprint import r30x_protocol as p
from drivers.fingerprint.simulator import R30xSimulator, SyntheticImages
from drivers.fingerprint.synthetic import synthetic_fingerprint


@pytest.fixture
def sim():
    with R30xSimulator(SyntheticImages(fingers=2, impressions=1)) as s:
        yield s


def test_pyfingerprint_handshake_and_system_parameters(sim):
    finger = PyFingerprint(sim.path, 57600, 0xFFFFFFFF, 0x00000000)
    assert finger.verifyPassword() is True
    # status (password verified), system id, capacity, security level, address,
    # packet size code (2 = 128 bytes), baud rate code (6 x 9600)
    assert finger.getSystemParameters() == (0x0004, 0, 1000, 3, 0xFFFFFFFF, 2, 6)
    assert finger.getStorageCapacity() == 1000


def test_pyfingerprint_wrong_password_is_refused():
    with R30xSimulator(SyntheticImages(1, 1), password=0x12345678) as s:
        assert PyFingerprint(s.path, 57600, 0xFFFFFFFF, 0).verifyPassword() is False
        assert PyFingerprint(s.path, 57600, 0xFFFFFFFF, 0x12345678).verifyPassword() is True


def test_pyfingerprint_reads_and_downloads_the_served_image(sim, tmp_path):
    finger = PyFingerprint(sim.path, 57600, 0xFFFFFFFF, 0)
    assert finger.verifyPassword()
    sim.no_finger()
    assert finger.readImage() is False  # no finger yet
    sim.place_finger()
    assert finger.readImage() is True
    out = tmp_path / "finger.png"
    finger.downloadImage(str(out))
    got = np.asarray(Image.open(out))
    served = sim.served[-1]
    assert got.shape == (288, 256)
    assert np.array_equal(got, p.quantise(served))  # equal after the 4-bit upload
    assert np.array_equal(served, synthetic_fingerprint(0, 0))


def test_pyfingerprint_sees_a_new_packet_size_and_baud_setting(sim, tmp_path):
    finger = PyFingerprint(sim.path, 57600, 0xFFFFFFFF, 0)
    assert finger.verifyPassword()
    finger.setMaxPacketSize(32)  # four times as many data packets
    assert finger.getMaxPacketSize() == 32
    assert finger.readImage()
    finger.downloadImage(str(tmp_path / "small-packets.png"))
    got = np.asarray(Image.open(tmp_path / "small-packets.png"))
    assert np.array_equal(got, p.quantise(sim.served[-1]))
    finger.setBaudRate(115200)
    # The module now listens at 115200 (bytes at 57600 are noise to it) ...
    assert sim.baudrate == 115200
    fast = PyFingerprint(sim.path, 115200, 0xFFFFFFFF, 0)
    assert fast.verifyPassword()  # ... and a client at 115200 gets its answers.
    assert fast.getBaudRate() == 115200
