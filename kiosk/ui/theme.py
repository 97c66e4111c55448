"""Colours and type sizes of the kiosk UI. Plain values (no kivy), so tests can check them.

Residents are mostly over 60, many over 80: dark text on a light ground with a contrast ratio
of at least 7:1 (WCAG AAA), and body text of at least 36 px on the 1920x1080 panel, scaled with
the window height so a smaller development window keeps the same proportions.
"""

from __future__ import annotations

RGBA = tuple[float, float, float, float]


def _hex(code: str) -> RGBA:
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, 1.0)


BACKGROUND = _hex("#F7F5EF")  # warm off-white: less glare than pure white under shop lights
TEXT = _hex("#141414")
TEXT_SECONDARY = _hex("#3A3A3A")
OK = _hex("#0B5A27")  # dark green
FAIL = _hex("#8F1010")  # dark red
RULE = _hex("#8A8A8A")

PANEL_HEIGHT_PX = 1080
BODY_PX_ON_PANEL = 40
TITLE_PX_ON_PANEL = 72


def body_px(window_height: float) -> float:
    return BODY_PX_ON_PANEL * window_height / PANEL_HEIGHT_PX


def title_px(window_height: float) -> float:
    return TITLE_PX_ON_PANEL * window_height / PANEL_HEIGHT_PX


def contrast_ratio(a: RGBA, b: RGBA) -> float:
    """WCAG 2 contrast ratio of two opaque colours."""

    def luminance(c: RGBA) -> float:
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c[:3]]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
