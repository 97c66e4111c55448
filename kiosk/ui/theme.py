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


# ---------------------------------------------------------------------------- resident screens
#
# Every size below is in pixels on the 1920x1080 panel; the UI multiplies it by `scale()` so
# a smaller window keeps the proportions, and text sizes also by CARE_MODE_TEXT in care mode.

PANEL_WIDTH_PX = 1920
CARE_MODE_TEXT = 1.25  # care mode: every text 1.25x larger
MIN_TEXT_PX_ON_PANEL = 36  # nothing a resident must read is smaller

# Type roles: each label names one; none is below 36 px on the panel.
ROLE_PX = {
    "small": 36,  # status bar, table headers, hints
    "body": BODY_PX_ON_PANEL,  # prompts, messages, table cells
    "button": 44,  # button labels
    "key": 52,  # keypad and date-stepper keys
    "title": TITLE_PX_ON_PANEL,  # one per screen
    "big": 88,  # what the resident must check: masked name, reference, entered number
    "huge": 200,  # the idle countdown
}
BOLD_ROLES = frozenset({"button", "key", "title", "big", "huge"})
LINE_HEIGHT = 1.0  # Noto Sans CJK already spaces lines 1.45 em apart

# Heights of interactive targets.
BUTTON_PX = {
    "primary": 168,  # >= 160: the one main action of a screen
    "choice": 180,  # equal choices (language, service, document)
    "secondary": 136,
    "key": 120,  # keypad keys and steppers (grow with the room they get)
    "status": 96,  # the status bar's buttons
}
STATUS_BAR_PX = 112
PADDING_PX = 56
SPACING_PX = 24
RADIUS_PX = 18
BORDER_PX = 3

# Colours (all pairs of text and ground are checked >= 7:1 in tests/ui/test_theme.py).
WHITE = _hex("#FFFFFF")
PRIMARY = _hex("#0B3D91")  # deep blue
PRIMARY_DOWN = _hex("#072A66")
SECONDARY_DOWN = _hex("#E4E1D8")
CHOICE = _hex("#DCE8F8")  # pale blue tile
CHOICE_DOWN = _hex("#B9CFEF")
STATUS = _hex("#1E2B3C")  # dark slate status bar
MESSAGE = _hex("#FFF0B3")  # pale yellow: the message line
ROW_SHADE = _hex("#ECE8DD")  # every other row of a table
CAMERA = _hex("#202020")  # around the camera picture
GUIDE = _hex("#FFD400")  # face-guide oval (not text)
SELECTED = OK  # a chosen option (care mode on, the current language)
FINGER_OFF = _hex("#D9D6CE")  # a finger without an enrolled reference (not text)
OUTLINE = _hex("#5A5A5A")  # outlines of drawings (not text)

# Buttons by kind: (text colour, ground, ground while pressed, border).
BUTTON_COLOURS = {
    "primary": (WHITE, PRIMARY, PRIMARY_DOWN, PRIMARY),
    "secondary": (TEXT, WHITE, SECONDARY_DOWN, TEXT),
    "choice": (TEXT, CHOICE, CHOICE_DOWN, PRIMARY),
    "key": (TEXT, WHITE, SECONDARY_DOWN, TEXT_SECONDARY),
    "status": (WHITE, STATUS, PRIMARY_DOWN, WHITE),
    "selected": (WHITE, SELECTED, SELECTED, SELECTED),
}

# Every text colour on every ground the screens use.
TEXT_ON_GROUND = {
    "text on background": (TEXT, BACKGROUND),
    "secondary text on background": (TEXT_SECONDARY, BACKGROUND),
    "ok on background": (OK, BACKGROUND),
    "fail on background": (FAIL, BACKGROUND),
    "message": (TEXT, MESSAGE),
    "entry": (TEXT, WHITE),
    "shaded row": (TEXT, ROW_SHADE),
    "secondary text on shaded row": (TEXT_SECONDARY, ROW_SHADE),
    "fail message": (FAIL, MESSAGE),
    "status bar": (WHITE, STATUS),
    "camera coaching": (WHITE, CAMERA),
    **{f"{kind} button": (fg, bg) for kind, (fg, bg, _down, _b) in BUTTON_COLOURS.items()},
    **{
        f"{kind} button pressed": (fg, down) for kind, (fg, _bg, down, _b) in BUTTON_COLOURS.items()
    },
}


def scale(window_height: float) -> float:
    """Panel pixels to window pixels: the layout keeps its proportions at any height."""
    return window_height / PANEL_HEIGHT_PX


def text_px(role: str, window_height: float, care_mode: bool = False) -> float:
    factor = CARE_MODE_TEXT if care_mode else 1.0
    return ROLE_PX[role] * scale(window_height) * factor


def button_px(kind: str, window_height: float) -> float:
    return BUTTON_PX[kind] * scale(window_height)


# Text colours by name (a label's `tone`).
TONES = {"text": TEXT, "secondary": TEXT_SECONDARY, "ok": OK, "fail": FAIL, "white": WHITE}
