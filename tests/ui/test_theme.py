"""The theme's promises to older eyes, checked on its values (no window needed)."""

from __future__ import annotations

import pytest

from kiosk.ui import theme


@pytest.mark.parametrize("colour", ["TEXT", "TEXT_SECONDARY", "OK", "FAIL"])
def test_text_colours_reach_wcag_aaa_on_the_background(colour):
    assert theme.contrast_ratio(getattr(theme, colour), theme.BACKGROUND) >= 7.0


def test_contrast_ratio_reference_values():
    black, white = (0, 0, 0, 1), (1, 1, 1, 1)
    assert theme.contrast_ratio(black, white) == pytest.approx(21.0)
    assert theme.contrast_ratio(white, white) == pytest.approx(1.0)


def test_body_text_is_at_least_36_px_on_the_panel_and_scales_with_height():
    assert theme.body_px(1080) >= 36
    assert theme.title_px(1080) > theme.body_px(1080)
    assert theme.body_px(540) == pytest.approx(theme.body_px(1080) / 2)
