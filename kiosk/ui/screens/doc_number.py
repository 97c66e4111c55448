"""doc_number: the document number on a large keypad that offers letters only where the
document's format has them; the number takes shape on screen as it is typed."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty

from kiosk.i18n import N_
from kiosk.ui import docentry
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen

HINT_KEYS = {
    "hkid": N_("doc_number.hint_hkid"),
    "macau_id": N_("doc_number.hint_macau_id"),
    "prc_id": N_("doc_number.hint_prc_id"),
    "home_return_permit": N_("doc_number.hint_home_return_permit"),
}


class DocNumberScreen(KioskScreen):
    doc_type = StringProperty("hkid")
    hint_key = StringProperty(HINT_KEYS["hkid"])
    shown = StringProperty("")  # the entry as displayed (personal)

    def on_kv_post(self, _base_widget):
        self.ids.keypad.bind(raw=self._show)
        self._show()

    def _show(self, *_):
        self.shown = docentry.display(self.doc_type, self.ids.keypad.raw)

    def on_doc_type(self, *_):
        self.hint_key = HINT_KEYS[self.doc_type]
        if "keypad" in self.ids:
            self._show()

    def on_state_enter(self, flow, runner) -> None:
        # A new document type starts empty; coming back (from the date of birth, or after
        # "no record matches") shows the number typed before, to correct it.
        doc_type = flow.ctx.doc_type.value if flow.ctx.doc_type else "hkid"
        self.doc_type = doc_type
        self.ids.keypad.doc_type = doc_type
        self.ids.keypad.raw = docentry.from_number(doc_type, flow.ctx.doc_number)

    def confirm(self) -> None:
        App.get_running_app().enter_document(
            docentry.submission(self.doc_type, self.ids.keypad.raw)
        )

    def clear(self) -> None:
        super().clear()
        self.ids.keypad.raw = ""
        self._show()


SCREEN = DocNumberScreen
load_kv(__file__)
