"""Verification error rates from genuine and impostor comparison scores, for any modality.

Give it two lists of numbers: the scores (or distances) of genuine pairs (same person) and
of impostor pairs (different people), and say which way is "more alike": `higher_is_genuine`
True for similarity scores (fingerprint match scores), False for distances (face). A pair is
accepted when its score is >= the threshold (similarities) or <= it (distances).

Error counts come with one-sided 95 % upper confidence bounds (Clopper-Pearson, exact): the
evaluation sets are small, and "0 errors in 120 trials" only says the rate is below 2.5 %.
`d_prime` (decidability, Daugman) is |mean_g - mean_i| / sqrt((var_g + var_i) / 2): how far
apart the two distributions are, whatever the scale of the score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def clopper_pearson_upper(errors: int, trials: int, confidence: float = 0.95) -> float:
    """The exact one-sided upper confidence bound of a binomial rate (errors of trials).

    With 0 errors it is 1 - (1 - confidence) ** (1 / trials) (about 3 / trials: the rule of
    three). Pure Python: the binomial CDF in log space, solved by bisection."""
    if trials <= 0:
        return 1.0
    if errors < 0 or errors > trials:
        raise ValueError("errors must be between 0 and trials")
    if errors >= trials:
        return 1.0
    alpha = 1.0 - confidence
    if errors == 0:
        return 1.0 - alpha ** (1.0 / trials)
    lo, hi = errors / trials, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if _binom_cdf(errors, trials, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0 if k < n else 1.0
    lp, lq = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    terms = [
        base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
        for i in range(k + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


@dataclass(frozen=True)
class Rate:
    """`errors` of `trials`, with the rate and its 95 % upper bound."""

    errors: int
    trials: int

    @property
    def value(self) -> float:
        return self.errors / self.trials if self.trials else 0.0

    @property
    def upper95(self) -> float:
        return clopper_pearson_upper(self.errors, self.trials)


def _as_distances(genuine, impostor, higher_is_genuine: bool):
    g = np.asarray(genuine, dtype=np.float64).ravel()
    i = np.asarray(impostor, dtype=np.float64).ravel()
    if not np.all(np.isfinite(g)) or not np.all(np.isfinite(i)):
        raise ValueError("scores must be finite")
    return (-g, -i) if higher_is_genuine else (g, i)


def error_rates(genuine, impostor, threshold: float, *, higher_is_genuine: bool = False):
    """(FNMR, FMR) as `Rate`s at `threshold`."""
    g, i = _as_distances(genuine, impostor, higher_is_genuine)
    t = -threshold if higher_is_genuine else threshold
    return Rate(int((g > t).sum()), len(g)), Rate(int((i <= t).sum()), len(i))


def _curves(g: np.ndarray, i: np.ndarray):
    """FNMR and FMR at every candidate threshold (distances; accept when <= t)."""
    ts = np.unique(np.concatenate([g, i]))
    gs, is_ = np.sort(g), np.sort(i)
    fnmr = 1.0 - np.searchsorted(gs, ts, side="right") / max(1, len(gs))
    fmr = np.searchsorted(is_, ts, side="right") / max(1, len(is_))
    return ts, fnmr, fmr


def equal_error_rate(genuine, impostor, *, higher_is_genuine: bool = False) -> tuple[float, float]:
    """(EER, its threshold): where FNMR and FMR cross; 0 when the sets are separated.

    At the candidate threshold where |FNMR - FMR| is smallest the EER is their mean."""
    g, i = _as_distances(genuine, impostor, higher_is_genuine)
    if not len(g) or not len(i):
        return float("nan"), float("nan")
    ts, fnmr, fmr = _curves(g, i)
    k = int(np.argmin(np.abs(fnmr - fmr) + 1e-12 * np.arange(len(ts))))
    eer = float((fnmr[k] + fmr[k]) / 2)
    t = float(ts[k])
    if g.max() < i.min():
        eer, t = 0.0, float((g.max() + i.min()) / 2)
    return eer, (-t if higher_is_genuine else t)


def fnmr_at_fmr(genuine, impostor, max_fmr: float, *, higher_is_genuine: bool = False):
    """The lowest FNMR (a `Rate`) at a threshold whose FMR is at most `max_fmr`, and that
    threshold. `max_fmr=0`: the threshold just short of the closest impostor."""
    g, i = _as_distances(genuine, impostor, higher_is_genuine)
    if not len(i):
        return Rate(0, len(g)), float("inf")
    isorted = np.sort(i)
    allowed = math.floor(max_fmr * len(i) + 1e-9)
    if allowed >= len(i):
        t = float(np.max(np.concatenate([g, i])))
    else:
        t = float(np.nextafter(isorted[allowed], -np.inf))
    rate = Rate(int((g > t).sum()), len(g))
    return rate, (-t if higher_is_genuine else t)


def d_prime(genuine: Sequence[float], impostor: Sequence[float]) -> float:
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    if len(g) < 2 or len(i) < 2:
        return float("nan")
    spread = math.sqrt((g.var(ddof=1) + i.var(ddof=1)) / 2)
    return float(abs(g.mean() - i.mean()) / spread) if spread > 0 else float("inf")


def summary(genuine, impostor, threshold: float, *, higher_is_genuine: bool = False) -> dict:
    """The figures `kiosk bio face-eval` prints (and a fingerprint evaluation can share)."""
    fnmr, fmr = error_rates(genuine, impostor, threshold, higher_is_genuine=higher_is_genuine)
    eer, eer_t = equal_error_rate(genuine, impostor, higher_is_genuine=higher_is_genuine)
    at_01, t_01 = fnmr_at_fmr(genuine, impostor, 0.001, higher_is_genuine=higher_is_genuine)
    at_0, t_0 = fnmr_at_fmr(genuine, impostor, 0.0, higher_is_genuine=higher_is_genuine)
    return {
        "genuine_pairs": fnmr.trials,
        "impostor_pairs": fmr.trials,
        "threshold": threshold,
        "fnmr": round(fnmr.value, 6),
        "fmr": round(fmr.value, 6),
        "false_non_matches": fnmr.errors,
        "false_matches": fmr.errors,
        "fnmr_upper95": round(fnmr.upper95, 6),
        "fmr_upper95": round(fmr.upper95, 6),
        "eer": round(eer, 6),
        "eer_threshold": round(eer_t, 6),
        "fnmr_at_fmr_0.1pct": round(at_01.value, 6),
        "threshold_at_fmr_0.1pct": round(t_01, 6),
        "fnmr_at_fmr_0": round(at_0.value, 6),
        "threshold_at_fmr_0": round(t_0, 6),
        "d_prime": round(d_prime(genuine, impostor), 4),
    }
