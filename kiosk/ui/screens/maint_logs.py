"""maint_logs: the kiosk's own log file, newest first, a page at a time; every line passed
through kiosk/maintenance/redact.py before it reaches the screen."""

from __future__ import annotations

from kivy.properties import DictProperty, ListProperty, NumericProperty, StringProperty

from kiosk.i18n import N_
from kiosk.ui.screens.maint_common import maint_view
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen

HEADER = [N_("maint_logs.time"), N_("maint_logs.level"), N_("maint_logs.text")]


class MaintLogsScreen(KioskScreen):
    header = ListProperty(HEADER)
    page = NumericProperty(0)
    pages = NumericProperty(0)
    page_key = StringProperty("")
    page_params = DictProperty({})

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        view = maint_view(flow)
        if view.loading == "logs" and not view.logs:
            self.page_key, params = N_("maint_logs.loading"), {}
        elif not view.logs:
            self.page_key, params = N_("maint_logs.empty"), {}
        else:
            self.page_key = N_("maint_logs.page")
            params = {"page": view.logs_page, "pages": view.logs_pages}
        if params != dict(self.page_params):
            self.page_params = params
        self.page, self.pages = view.logs_page, view.logs_pages
        rows = [[("", stamp), ("", level), ("", text)] for stamp, level, text in view.logs]
        if rows != list(self.ids.table.lines):
            self.ids.table.lines = rows

    def clear(self) -> None:
        super().clear()
        self.ids.table.clear()
        self.page = self.pages = 0


SCREEN = MaintLogsScreen
load_kv(__file__)
