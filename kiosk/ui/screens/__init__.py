"""One screen per flow state: `<name>.kv` for the layout, a thin `<name>.py` for its class.

Each module names its class `SCREEN`; `create(state)` builds the screen of a state (the
screen's `name` is the state, so the app's ScreenManager switches by state name).
"""

from __future__ import annotations

import importlib

from kiosk.flow.machine import SCREENS

# The shared widgets' classes and kv rules, before any screen's kv uses them.
from kiosk.ui.widgets import (  # noqa: F401
    busy,
    buttons,
    camera,
    dateentry,
    frame,
    hands,
    keypad,
    table,
    text,
)


def create(state: str):
    if state not in SCREENS:
        raise ValueError(f"no flow state {state!r}")
    module = importlib.import_module(f"{__name__}.{state}")
    return module.SCREEN(name=state)
