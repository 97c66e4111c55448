"""The generic error-rate maths (biometrics/evaluation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from biometrics import evaluation as ev


def test_clopper_pearson_upper_bounds():
    assert ev.clopper_pearson_upper(0, 100) == pytest.approx(0.0295, abs=1e-4)  # ~ 3/n
    assert ev.clopper_pearson_upper(1, 10) == pytest.approx(0.3942, abs=1e-3)
    assert ev.clopper_pearson_upper(5, 50) == pytest.approx(0.1981, abs=2e-3)
    assert ev.clopper_pearson_upper(3, 3) == 1.0
    assert ev.clopper_pearson_upper(0, 0) == 1.0


def test_rates_at_a_threshold_for_distances_and_similarities():
    genuine, impostor = [0.1, 0.3, 0.7], [0.5, 0.9, 1.0, 1.2]
    fnmr, fmr = ev.error_rates(genuine, impostor, 0.6)
    assert (fnmr.errors, fnmr.trials, fmr.errors, fmr.trials) == (1, 3, 1, 4)
    fnmr2, fmr2 = ev.error_rates(
        [-x for x in genuine], [-x for x in impostor], -0.6, higher_is_genuine=True
    )
    assert (fnmr2.errors, fmr2.errors) == (1, 1)


def test_eer_and_fnmr_at_fmr():
    rng = np.random.default_rng(1)
    genuine = rng.normal(0.4, 0.1, 2000)
    impostor = rng.normal(0.8, 0.1, 20000)
    eer, t = ev.equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(0.0228, abs=0.006) and t == pytest.approx(0.6, abs=0.02)
    rate, t01 = ev.fnmr_at_fmr(genuine, impostor, 0.001)
    assert (np.asarray(impostor) <= t01).mean() <= 0.001
    assert 0.05 < rate.value < 0.3
    rate0, t0 = ev.fnmr_at_fmr(genuine, impostor, 0.0)
    assert t0 < min(impostor) and rate0.value >= rate.value
    assert ev.d_prime(genuine, impostor) == pytest.approx(4.0, abs=0.15)


def test_separated_sets():
    eer, t = ev.equal_error_rate([0.1, 0.2], [0.8, 0.9])
    assert eer == 0.0 and 0.2 < t < 0.8
    s = ev.summary([0.1, 0.2, 0.3], [0.8, 0.9, 1.0], 0.6)
    assert s["fnmr"] == 0 and s["fmr"] == 0 and s["fnmr_at_fmr_0"] == 0
    assert s["fmr_upper95"] == pytest.approx(1 - 0.05 ** (1 / 3), abs=1e-6)
