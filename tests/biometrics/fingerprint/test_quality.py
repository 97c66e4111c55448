"""Quality score and coaching keys on synthetic bad captures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from biometrics.fingerprint import COACHING_KEYS, quality
from biometrics.fingerprint.quality import (
    FINGER_NO_FINGER,
    FINGER_OFF_CENTRE,
    FINGER_PRESS_HARDER,
    FINGER_SMUDGED,
    FINGER_TOO_FEW_FEATURES,
)


@pytest.fixture(scope="module")
def good(synthetic):
    return synthetic(3, 0)


def _disc(img):
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    cy, cx = img.shape[0] / 2, img.shape[1] / 2
    return np.hypot(yy - cy, xx - cx)


def test_good_capture_has_no_coaching(good):
    q = quality(good)
    assert q.ok and q.coaching is None and q.keys == ()
    assert q.score >= 60


def test_blank_and_noise_are_no_finger(good):
    assert quality(np.full_like(good, 235)).coaching == FINGER_NO_FINGER
    noise = np.random.default_rng(0).normal(230, 3, good.shape)
    assert quality(np.clip(noise, 0, 255).astype(np.uint8)).coaching == FINGER_NO_FINGER
    assert quality(np.full_like(good, 235)).score == 0


def test_faint_print_asks_to_press_harder(good):
    faint = (255 - (255 - good.astype(np.float64)) * 0.1).astype(np.uint8)
    q = quality(faint)
    assert q.coaching == FINGER_PRESS_HARDER
    assert q.score < quality(good).score


def test_wet_print_is_smudged(good):
    wet = cv2.erode(good, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    q = quality(wet)
    assert q.coaching == FINGER_SMUDGED
    assert q.score < quality(good).score


def test_small_contact_has_too_few_features(good):
    small = np.where(_disc(good) < 45, good, 255).astype(np.uint8)
    assert quality(small).coaching == FINGER_TOO_FEW_FEATURES


def test_print_at_the_edge_is_off_centre(good):
    shifted = np.full_like(good, 255)
    shifted[:, 150:] = good[:, :106]
    q = quality(shifted)
    assert q.coaching == FINGER_OFF_CENTRE
    assert FINGER_TOO_FEW_FEATURES in q.keys


def test_keys_are_message_keys():
    assert len(set(COACHING_KEYS)) == len(COACHING_KEYS)
    assert all(k.startswith("finger_") for k in COACHING_KEYS)


def test_report_is_serialisable(good):
    import json

    d = quality(good).to_dict()
    assert set(d) == {"score", "coaching", "keys", "measures"}
    json.dumps(d)
