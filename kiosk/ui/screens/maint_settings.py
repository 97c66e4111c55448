"""maint_settings: the settings the kiosk runs with (kiosk/config.py, after the TOML file and
the environment), a page at a time. Secrets are never shown (kiosk/maintenance/service.py);
the device key appears as the path of its file only."""

from __future__ import annotations

from kivy.properties import DictProperty, ListProperty, NumericProperty, StringProperty

from kiosk.i18n import N_
from kiosk.ui.screens.maint_common import maint_view
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen

HEADER = [N_("maint_settings.name"), N_("maint_settings.value")]


class MaintSettingsScreen(KioskScreen):
    header = ListProperty(HEADER)
    page = NumericProperty(0)
    pages = NumericProperty(0)
    page_key = StringProperty("")
    page_params = DictProperty({})

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        view = maint_view(flow)
        if not view.settings:
            self.page_key, params = N_("maint_settings.loading"), {}
        else:
            self.page_key = N_("maint_settings.page")
            params = {"page": view.settings_page, "pages": view.settings_pages}
        if params != dict(self.page_params):
            self.page_params = params
        self.page, self.pages = view.settings_page, view.settings_pages
        rows = [[("", name), ("", value)] for name, value in view.settings_shown()]
        if rows != list(self.ids.table.lines):
            self.ids.table.lines = rows

    def clear(self) -> None:
        super().clear()
        self.ids.table.clear()
        self.page = self.pages = 0


SCREEN = MaintSettingsScreen
load_kv(__file__)
