"""Until the resident screens exist: the product's name and the state of its back end."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder
from kivy.properties import ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.heartbeat import BackendStatus
from kiosk.ui import theme

# English only until the catalogues and a CJK font arrive.
PRODUCT_NAME = "Jiangmen Pension Self-Service Kiosk"
ORGANISATION = "Jiangmen Human Resources and Social Security Bureau · Hong Kong and Macau"

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class PlaceholderScreen(BoxLayout):
    product_name = StringProperty(PRODUCT_NAME)
    organisation = StringProperty(ORGANISATION)
    backend_url = StringProperty("")
    kiosk_line = StringProperty("")
    state_text = StringProperty("Checking…")
    detail_text = StringProperty("")
    state_color = ColorProperty(theme.TEXT)

    def show_status(self, status: BackendStatus) -> None:
        if not status.answered:
            self.state_text = "No answer"
            self.detail_text = f"{status.detail} ({status.error_key})"
            self.state_color = theme.FAIL
        elif not status.accepted:
            self.state_text = "Answered, but refused this kiosk"
            self.detail_text = f"{status.detail} ({status.error_key})"
            self.state_color = theme.FAIL
        else:
            self.state_text = "Answered; heartbeat accepted"
            self.detail_text = (
                f"Version {status.version} · database {status.database} · "
                f"next heartbeat in {status.next_heartbeat_s} s"
            )
            self.state_color = theme.OK
