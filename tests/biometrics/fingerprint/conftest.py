"""Fingerprints for the tests: synthetic prints from drivers/fingerprint/synthetic.py (always
there) and the FVC2002 images and ISO records in ../shared/data/fingers when present
(KIOSK_EVAL_DATA overrides ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.eval_data import eval_data_root


def eval_data() -> Path:
    return eval_data_root()


@pytest.fixture(scope="session")
def fvc_dir() -> Path:
    """The folder holding the FVC2002 databases (DB1_B ... DB4_B)."""
    path = eval_data() / "fingers" / "fvc2002"
    if not (path / "DB1_B").is_dir():
        pytest.skip(f"FVC2002 evaluation data not found at {path} (set KIOSK_EVAL_DATA)")
    return path


@pytest.fixture(scope="session")
def synthetic():
    from drivers.fingerprint.synthetic import synthetic_fingerprint

    return synthetic_fingerprint


@pytest.fixture(scope="session")
def synthetic_templates(synthetic):
    """{(finger, impression): template} for 3 synthetic fingers x 3 impressions."""
    from biometrics.fingerprint import extract

    return {(f, k): extract(synthetic(f, k)) for f in range(3) for k in range(3)}
