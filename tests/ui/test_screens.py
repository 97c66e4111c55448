"""Every screen in every language, drawn by `kiosk tour` (the command itself) and by the tour
in care mode: the PNGs exist, and in each screen no text overflows its widget, nothing leaves
its parent or the window, no text is under 36 px on the panel, every text has >= 7:1 contrast
with its ground, the one primary button is >= 160 px high and every touch target is large.

Both tours run as children of their own (one Kivy window per process), side by side."""

from __future__ import annotations

import cv2
import pytest

from kiosk.flow.machine import SCREENS
from kiosk.i18n import LANGUAGES
from tests.ui import child
from tests.ui.child import CHECKS

NAMES = [f"{lang}/{state}" for lang in LANGUAGES for state in SCREENS]


@pytest.fixture(scope="module")
def tours(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tours")
    runs = {
        "cli": (tmp / "cli", "tour-audit"),
        "care": (tmp / "care", "care-audit"),
    }
    procs = {
        name: child.start(where, mode, str(where / "out"), str(where / "report.json"))
        for name, (where, mode) in runs.items()
    }
    reports = {
        name: child.finish(proc, runs[name][0] / "report.json") for name, proc in procs.items()
    }
    return {name: (runs[name][0] / "out", reports[name]) for name in runs}


def test_the_tour_command_writes_every_screen_in_every_language(tours):
    out, report = tours["cli"]
    assert report["exit_code"] == 0
    assert report["unsettled"] == []
    missing = [name for name in NAMES if not (out / f"{name}.png").exists()]
    assert missing == []
    for name in ("zh_Hant_HK/home", "pt_MO/payments", "zh_Hans_CN/doc_number"):
        image = cv2.imread(str(out / f"{name}.png"))
        assert image.shape == (1080, 1920, 3)
        assert image.std() > 10, f"{name} looks empty"
    assert sorted(report["screens"]) == sorted(NAMES)


def test_the_camera_preview_shows_the_frames_it_is_fed(tours):
    """The tour feeds face_capture a drawn numpy frame in the camera's BGR order
    (Texture.blit_buffer): its colours are on the screenshot, red and blue not swapped."""
    from kiosk.ui.samples import sample_frame

    out, _report = tours["cli"]
    image = cv2.imread(str(out / "en/face_capture.png")).astype(int)  # BGR too
    skin = sample_frame()[240, 320].astype(int)  # the middle of the drawn head
    assert skin[2] > skin[0] + 50  # skin: more red than blue, so a swap would show
    assert (abs(image - skin).max(axis=2) <= 8).sum() > 5000


def test_care_mode_draws_larger_text(tours):
    out, report = tours["care"]
    assert report["unsettled"] == []
    assert sorted(report["screens"]) == sorted(f"care/{name}" for name in NAMES)
    normal = cv2.imread(str(tours["cli"][0] / "en/home.png"))
    care = cv2.imread(str(out / "care/en/home.png"))
    assert (normal != care).any()


def _problems(entry: dict) -> dict[str, list[str]]:
    return {check: entry[check] for check in CHECKS if entry[check]}


@pytest.mark.parametrize("name", NAMES)
def test_screen_layout(tours, name):
    assert _problems(tours["cli"][1]["screens"][name]) == {}


@pytest.mark.parametrize("name", NAMES)
def test_screen_layout_in_care_mode(tours, name):
    assert _problems(tours["care"][1]["screens"][f"care/{name}"]) == {}
