"""Argument types for the `kiosk bio` commands: a bad value is one clear line."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def finite_float(ok: Callable[[float], bool], must: str) -> Callable[[str], float]:
    """A float that parses, is finite and passes `ok`; otherwise 'must <must>: <text>'."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and ok(value)):
            raise argparse.ArgumentTypeError(f"must be {must}: {text!r}")
        return value

    return parse
