"""Widgets shared by the resident screens: text by message key, big buttons, the screen frame
(status bar, title, prompt, message line, button row), keypad, date entry, camera preview,
finger choice, busy indicator and progress meter.

Every text a resident reads is a message key looked up in the app's current language (or a
widget's own `lang`), so switching the language relabels every screen at once.
"""

from __future__ import annotations

from pathlib import Path


def load_kv(module_file: str) -> None:
    """Loads the .kv file next to a module, once."""
    from kivy.lang import Builder

    path = str(Path(module_file).with_suffix(".kv"))
    if path not in Builder.files:
        Builder.load_file(path)
