"""Where the shared evaluation data is: faces, FVC2002 fingers, liveness clips (with their
provenance). It is never copied into the repository; simulators and demos read it from here
when present and do without it otherwise."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "KIOSK_EVAL_DATA"


def eval_data_root() -> Path:
    """$KIOSK_EVAL_DATA, else `<repo>/../shared/data`."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"
