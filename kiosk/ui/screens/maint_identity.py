"""maint_identity: who this kiosk is (id, site, app version, the device key's fingerprint),
as text and as a QR code holding the same four fields as JSON, for a technician's phone."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.i18n import N_
from kiosk.maintenance.views import identity_payload
from kiosk.ui.screens.maint_common import maint_view, qr_matrix
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen

FIELDS = (
    ("kiosk_id", N_("maint_identity.kiosk_id")),
    ("site", N_("maint_identity.site")),
    ("version", N_("maint_identity.version")),
    ("key_fingerprint", N_("maint_identity.key_fingerprint")),
)


class MaintIdentityScreen(KioskScreen):
    payload = StringProperty("")  # the QR code's text

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        ident = maint_view(flow).identity
        payload = identity_payload(ident) if ident else ""
        if payload == self.payload:
            return
        self.payload = payload
        self.ids.qr.show(qr_matrix(payload) if payload else None)
        self.ids.table.lines = (
            [[(key, ""), ("", ident[name])] for name, key in FIELDS] if ident else []
        )

    def clear(self) -> None:
        super().clear()
        self.payload = ""
        self.ids.qr.show(None)
        self.ids.table.clear()


SCREEN = MaintIdentityScreen
load_kv(__file__)
