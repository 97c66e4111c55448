"""Checks of one drawn screen, run inside the UI's own process (it needs the live widgets):
text that overflows its label, widgets outside their parent or the window, text smaller
than the theme allows, text/ground contrast, the primary button's size, touch targets.

Results are plain dicts of lists of strings, so the child process can hand them to pytest
as JSON."""

from __future__ import annotations

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.layout import Layout
from kivy.uix.screenmanager import Screen

from kiosk.ui import theme
from kiosk.ui.touch import walk_visible
from kiosk.ui.widgets.buttons import PrimaryButton
from tests.ui.child import CHECKS

TOLERANCE = 1.5  # px: rounding in layouts
MIN_TARGET_PX = 80  # on the panel: nothing a finger must hit is smaller


def visible(widget, root) -> bool:
    w = widget
    while w is not None:
        if w.opacity <= 0:
            return False
        if w is root:
            return True
        w = w.parent
    return True


def rect(widget) -> tuple[float, float, float, float]:
    x, y = widget.to_window(*widget.pos)
    return x, y, widget.width, widget.height


def describe(widget) -> str:
    bits = [type(widget).__name__]
    for attr in ("tid", "action", "key"):
        value = getattr(widget, attr, "")
        if value:
            bits.append(f"{attr}={value}")
    text = getattr(widget, "text", "")
    if text:
        bits.append(repr(text[:40]))
    return " ".join(bits)


def ground(widget):
    w = widget
    while w is not None:
        value = getattr(w, "ground_rgba", None)
        if value is not None:
            return tuple(value)
        w = w.parent
    return tuple(theme.BACKGROUND)


def untranslated(widget) -> bool:
    key = getattr(widget, "key", "")
    return bool(key) and widget.text == key


def audit_screen(screen: Screen, window_size, px: float) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in (*CHECKS, "untranslated")}
    win_w, win_h = window_size
    primaries = []
    for w in walk_visible(screen):
        if w.width <= 0 or w.height <= 0:
            continue
        x, y, width, height = rect(w)
        name = describe(w)
        if (
            min(x, y) < -TOLERANCE
            or x + width > win_w + TOLERANCE
            or y + height > win_h + TOLERANCE
        ):
            found["outside"].append(f"{name} at {x:.0f},{y:.0f} {width:.0f}x{height:.0f}")
        parent = w.parent
        if isinstance(parent, Layout) and not isinstance(parent, Screen) and w is not screen:
            px_, py_, pw, ph = rect(parent)
            if (
                x < px_ - TOLERANCE
                or y < py_ - TOLERANCE
                or x + width > px_ + pw + TOLERANCE
                or y + height > py_ + ph + TOLERANCE
            ):
                found["outside"].append(
                    f"{name} ({x:.0f},{y:.0f} {width:.0f}x{height:.0f}) leaves its "
                    f"{type(parent).__name__} ({px_:.0f},{py_:.0f} {pw:.0f}x{ph:.0f})"
                )
        if isinstance(w, Label) and w.text.strip():
            if untranslated(w):
                found["untranslated"].append(w.key)
            else:
                tw, th = w.texture_size
                if tw > width + TOLERANCE or th > height + TOLERANCE:
                    found["overflow"].append(
                        f"{name}: text {tw:.0f}x{th:.0f} in {width:.0f}x{height:.0f}"
                    )
            if w.font_size < theme.MIN_TEXT_PX_ON_PANEL * px - 0.01:
                found["small_text"].append(f"{name}: {w.font_size:.1f} px")
            if not w.disabled:
                ratio = theme.contrast_ratio(tuple(w.color), ground(w))
                if ratio < 7.0:
                    found["contrast"].append(f"{name}: {ratio:.2f}:1")
        small = min(width, height) < MIN_TARGET_PX * px - TOLERANCE
        if isinstance(w, ButtonBehavior) and not w.disabled and small:
            found["targets"].append(f"{name}: {width:.0f}x{height:.0f}")
        if isinstance(w, PrimaryButton) and not w.disabled:
            primaries.append(w)
            if height < theme.BUTTON_PX["primary"] * px - TOLERANCE or height < 160 * px:
                found["primary"].append(f"{name}: {height:.0f} px high")
    if len(primaries) > 1:
        found["primary"].append(f"{len(primaries)} primary buttons: one primary action only")
    found["untranslated"] = sorted(set(found["untranslated"]))
    return found


def texts(root) -> list[str]:
    """Every text anywhere under `root`, shown or not."""
    return [w.text for w in root.walk(restrict=True) if isinstance(w, Label) and w.text]
