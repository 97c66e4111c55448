"""The R30x framing against packets written out by hand from the protocol description."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.fingerprint import r30x_protocol as p

# VfyPwd with password 0 to the broadcast address, byte by byte: start code, address,
# command packet, length 7 (1 instruction + 4 password + 2 checksum), 0x13, password,
# checksum 0x01 + 0x00 + 0x07 + 0x13 = 0x001B.
VFYPWD = bytes.fromhex("EF01 FFFFFFFF 01 0007 13 00000000 001B")
# GenImg: length 3, checksum 0x01 + 0x03 + 0x01 = 0x0005.
GENIMG = bytes.fromhex("EF01 FFFFFFFF 01 0003 01 0005")
# An acknowledge "no finger" (0x02): 0x07 + 0x03 + 0x02 = 0x000C.
ACK_NO_FINGER = bytes.fromhex("EF01 FFFFFFFF 07 0003 02 000C")


def test_commands_are_framed_byte_for_byte():
    assert p.command(p.Instruction.VFY_PWD, b"\0\0\0\0") == VFYPWD
    assert p.command(p.Instruction.GEN_IMG) == GENIMG
    assert p.encode_packet(p.PacketId.ACK, b"\x02") == ACK_NO_FINGER


def test_parser_skips_noise_and_reassembles_split_packets():
    parser = p.PacketParser()
    stream = b"\x55\x00\xef" + ACK_NO_FINGER + VFYPWD
    got = []
    for i in range(len(stream)):  # one byte at a time
        got += parser.feed(stream[i : i + 1])
    assert [(q.pid, q.payload, q.checksum_ok) for q in got] == [
        (p.PacketId.ACK, b"\x02", True),
        (p.PacketId.COMMAND, b"\x13\0\0\0\0", True),
    ]
    assert parser.skipped == 3


def test_parser_flags_a_wrong_checksum_and_rejects_impossible_lengths():
    bad = ACK_NO_FINGER[:-1] + b"\x0d"
    (packet,) = p.PacketParser().feed(bad)
    assert not packet.checksum_ok
    parser = p.PacketParser()
    with pytest.raises(p.FramingError):
        parser.feed(bytes.fromhex("EF01 FFFFFFFF 07 FFFF 00"))
    assert parser.feed(ACK_NO_FINGER)[0].payload == b"\x02"  # parsing resumes


@given(st.integers(0, 0xFFFFFFFF), st.sampled_from(list(p.PacketId)), st.binary(max_size=256))
def test_encode_then_parse_is_identity(address, pid, payload):
    (packet,) = p.PacketParser().feed(p.encode_packet(pid, payload, address))
    assert (packet.address, packet.pid, packet.payload, packet.checksum_ok) == (
        address,
        pid,
        payload,
        True,
    )


@given(st.binary(max_size=600))
def test_parser_never_fails_other_than_framing(noise):
    parser = p.PacketParser()
    with contextlib.suppress(p.FramingError):
        parser.feed(noise)


def test_system_parameters_round_trip():
    params = p.SystemParameters(
        status=4,
        system_id=9,
        library_size=1000,
        security_level=3,
        address=0xFFFFFFFF,
        packet_size_code=2,
        baud_n=6,
    )
    raw = params.pack()
    assert raw == bytes.fromhex("0004 0009 03E8 0003 FFFFFFFF 0002 0006")
    back = p.SystemParameters.unpack(raw)
    assert back == params and back.packet_size == 128 and back.baudrate == 57600


def test_image_packing_is_4_bits_left_pixel_high():
    img = np.zeros((p.IMAGE_HEIGHT, p.IMAGE_WIDTH), dtype=np.uint8)
    img[0, 0], img[0, 1], img[-1, -1] = 0xF0, 0x3C, 0xFF
    data = p.pack_image(img)
    assert len(data) == p.IMAGE_UPLOAD_BYTES == 36864
    assert data[0] == 0xF3 and data[-1] == 0x0F
    back = p.unpack_image(data)
    assert back[0, 0] == 255 and back[0, 1] == 3 * 17 and back[-1, -1] == 255
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=img.shape, dtype=np.uint8)
    assert np.array_equal(p.unpack_image(p.pack_image(noise)), p.quantise(noise))
