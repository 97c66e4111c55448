"""Extraction on synthetic prints (no data needed): determinism, sane minutiae, templates
that survive the ISO/IEC 19794-2 round trip and the dict form, input handling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biometrics import iso19794_2 as iso
from biometrics.fingerprint import (
    FingerTemplate,
    NotAnImage,
    analyze,
    as_gray,
    extract,
    from_iso,
)
from biometrics.fingerprint.enhance import PERIOD_MAX, PERIOD_MIN


def test_extraction_is_deterministic(synthetic):
    image = synthetic(1, 0)
    a, b = extract(image), extract(image.copy())
    assert np.array_equal(a.minutiae, b.minutiae)
    assert (a.width, a.height) == (image.shape[1], image.shape[0])


def test_minutiae_are_sane(synthetic):
    image = synthetic(2, 1)
    analysis = analyze(image)
    m = analysis.template.minutiae
    assert 15 <= len(m) <= 120
    h, w = image.shape
    assert np.all((m[:, 0] >= 0) & (m[:, 0] < w) & (m[:, 1] >= 0) & (m[:, 1] < h))
    assert np.all((m[:, 2] >= 0) & (m[:, 2] < 2 * math.pi))
    assert set(np.unique(m[:, 3])) <= {1.0, 2.0}
    assert np.all((m[:, 4] >= 0) & (m[:, 4] <= 1))
    maps = analysis.maps
    # every minutia lies on the finger; the synthetic ridge period is 9 px
    assert maps.mask[m[:, 1].astype(int), m[:, 0].astype(int)].all()
    period = float(np.median(maps.period[maps.mask]))
    assert PERIOD_MIN <= period <= PERIOD_MAX and abs(period - 9.0) < 1.5


def test_iso_round_trip_keeps_the_minutiae(synthetic):
    t = extract(synthetic(0, 0))
    record = iso.parse(t.to_iso().to_bytes())
    back = from_iso(record)
    assert len(back) == len(t)
    assert np.abs(back.minutiae[:, :2] - t.minutiae[:, :2]).max() <= 0.5 + 1e-9
    dang = np.angle(np.exp(1j * (back.minutiae[:, 2] - t.minutiae[:, 2])))
    assert np.abs(dang).max() <= math.radians(360 / 256 / 2) + 1e-9
    assert np.array_equal(back.minutiae[:, 3], t.minutiae[:, 3])
    assert (record.width, record.height, record.x_resolution) == (t.width, t.height, 197)


def test_dict_round_trip(synthetic):
    t = extract(synthetic(0, 1))
    back = FingerTemplate.from_dict(t.to_dict())
    assert np.allclose(back.minutiae, t.minutiae, atol=1e-4)
    assert (back.width, back.height, back.version) == (t.width, t.height, t.version)


def test_input_forms(synthetic):
    image = synthetic(0, 0)
    bgr = np.repeat(image[:, :, None], 3, axis=2)
    assert np.array_equal(as_gray(bgr), image)
    assert np.array_equal(as_gray(image.astype(np.uint16) << 8), image)
    assert np.array_equal(as_gray(image.astype(np.float32) / 255.0), image)
    with pytest.raises(NotAnImage):
        extract(np.zeros((20, 20), np.uint8))
    with pytest.raises(NotAnImage):
        extract(np.zeros((3, 4, 5, 6), np.uint8))


def test_resolution_is_honoured(synthetic):
    """The same print scanned at 1000 dpi matches itself at 500 dpi."""
    import cv2

    from biometrics.fingerprint import compare

    image = synthetic(1, 1)
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    t500, t1000 = extract(image), extract(big, dpi=1000)
    assert t1000.width == 2 * t500.width
    assert compare(t500, t1000).match
