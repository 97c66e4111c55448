"""The README's configuration reference is generated from the settings declarations."""

from __future__ import annotations

import re

from backend.settings import BackendSettings
from backend.settings_doc import markdown_table
from tests.conftest import REPO


def _section(name: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- settings:{name} -->\n(.*?)<!-- /settings:{name} -->", text, re.S)
    assert m, f"README has no settings:{name} section"
    return m.group(1).strip()


def test_backend_settings_table_is_current():
    assert _section("backend") == markdown_table(BackendSettings, "KIOSK_BACKEND_"), (
        "regenerate with `kiosk-backend settings`"
    )


def test_kiosk_settings_table_is_current():
    from kiosk.config import KioskSettings
    from kiosk.config import markdown_table as kiosk_table

    assert _section("kiosk") == kiosk_table(KioskSettings), "regenerate with `kiosk settings`"


def test_readme_names_the_two_commands_and_ci_calls_make_test():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.M)
