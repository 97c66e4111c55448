"""payments: the recent payments, a page at a time (the flow pages through the back end)."""

from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty

from kiosk import formats
from kiosk.i18n import N_
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen

STATUS_KEYS = {"paid": N_("payments.paid"), "withheld": N_("payments.withheld")}
HEADER = [N_("payments.period"), N_("payments.amount"), N_("payments.status")]


def payment_rows(page, language: str) -> list[list[tuple[str, str]]]:
    return [
        [
            ("", formats.month(p.period, language)),
            ("", formats.money(p.amount, p.currency, language)),
            (STATUS_KEYS[p.status.value], ""),
        ]
        for p in page.items
    ]


class PaymentsScreen(KioskScreen):
    header = ListProperty(HEADER)
    page = NumericProperty(0)
    pages = NumericProperty(0)

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        payments = flow.ctx.payments
        if payments is None:
            self.page = self.pages = 0
            rows = []
        else:
            self.page = payments.page
            self.pages = max(1, -(-payments.total // payments.page_size))
            rows = payment_rows(payments, flow.ctx.language)
        if rows != list(self.ids.table.lines):
            self.ids.table.lines = rows

    def clear(self) -> None:
        super().clear()
        self.ids.table.clear()
        self.page = self.pages = 0


SCREEN = PaymentsScreen
load_kv(__file__)
