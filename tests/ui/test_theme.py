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


@pytest.mark.parametrize("pair", sorted(theme.TEXT_ON_GROUND))
def test_every_text_and_ground_pair_of_the_screens_reaches_7_to_1(pair):
    text, ground = theme.TEXT_ON_GROUND[pair]
    assert theme.contrast_ratio(text, ground) >= 7.0


def test_no_text_role_is_under_36_px_on_the_panel():
    assert min(theme.ROLE_PX.values()) >= theme.MIN_TEXT_PX_ON_PANEL >= 36
    assert all(theme.text_px(role, 1080) >= 36 for role in theme.ROLE_PX)


def test_primary_buttons_are_at_least_160_px_high_and_scale_with_the_panel():
    assert theme.button_px("primary", 1080) >= 160
    assert theme.button_px("primary", 720) == pytest.approx(
        theme.button_px("primary", 1080) * 2 / 3
    )
    assert min(theme.BUTTON_PX.values()) >= 80  # every touch target


def test_care_mode_makes_text_a_quarter_larger():
    assert theme.text_px("body", 1080, care_mode=True) == pytest.approx(
        1.25 * theme.text_px("body", 1080)
    )


def test_every_button_kind_has_its_colours_and_a_height():
    assert set(theme.BUTTON_COLOURS) >= set(theme.BUTTON_PX)
