"""birth_date: year, month and day with big − / + keys; the date written out below to check.
A PRC resident ID carries the birth date: it is offered as the starting value."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty

from kiosk import formats
from kiosk.api import documents
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class BirthDateScreen(KioskScreen):
    written = StringProperty("")  # personal

    def on_state_enter(self, flow, runner) -> None:
        entry = self.ids.entry
        ctx = flow.ctx
        if ctx.date_of_birth is not None:
            entry.set_date(ctx.date_of_birth)
            return
        try:
            parsed = documents.parse(ctx.doc_type, ctx.doc_number or "")
        except (documents.DocumentError, ValueError):
            parsed = None
        if parsed is not None and parsed.birth_date is not None:
            entry.set_date(parsed.birth_date)

    def update(self, flow, runner) -> None:
        self.written = formats.long_date(self.ids.entry.date, flow.ctx.language)

    def confirm(self) -> None:
        App.get_running_app().enter_birth_date(self.ids.entry.date)

    def clear(self) -> None:
        super().clear()
        self.ids.entry.reset()
        self.written = ""


SCREEN = BirthDateScreen
load_kv(__file__)
