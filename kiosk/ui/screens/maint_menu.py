"""maint_menu: what a technician can do here: diagnostics, the kiosk's log, its settings, its
identity, sending the outbox now, the screens' language; restart the app; leave."""

from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, StringProperty

from kiosk import formats
from kiosk.i18n import N_
from kiosk.ui.screens.maint_common import maint_view
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


def drain_line(view) -> tuple[str, dict]:
    """The message key and fields of the last outbox drain's line ("" before any)."""
    if view.draining:
        return N_("maint_menu.draining"), {}
    result = view.drain
    if result is None:
        return "", {}
    if not result.get("available", True):
        return N_("maint_menu.no_outbox"), {}
    return N_("maint_menu.drained"), {
        "delivered": result["delivered"],
        "refused": result["refused"],
        "waiting": result["waiting"],
    }


class MaintMenuScreen(KioskScreen):
    draining = BooleanProperty(False)
    drain_key = StringProperty("")
    drain_params = DictProperty({})
    language_name = StringProperty("")

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        view = maint_view(flow)
        self.language_name = formats.language_name(flow.ctx.language)
        self.draining = view.draining
        key, params = drain_line(view)
        if params != dict(self.drain_params):
            self.drain_params = params
        self.drain_key = key


SCREEN = MaintMenuScreen
load_kv(__file__)
