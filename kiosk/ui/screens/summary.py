"""summary: the pension at a glance: status, monthly amount, bank account (masked), the
annual verification."""

from __future__ import annotations

from kivy.properties import BooleanProperty

from kiosk import formats
from kiosk.i18n import N_
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen

ACCOUNT_KEYS = {
    "paying": N_("summary.account_paying"),
    "suspended": N_("summary.account_suspended"),
    "terminated": N_("summary.account_terminated"),
}
CERTIFICATION_KEYS = {
    "done": N_("summary.certification_done"),
    "due": N_("summary.certification_due"),
    "overdue": N_("summary.certification_overdue"),
    "suspended": N_("summary.certification_suspended"),
}


def summary_rows(summary, language: str) -> list[list[tuple[str, str]]]:
    s = summary
    return [
        [(N_("summary.account_status"), ""), (ACCOUNT_KEYS[s.account_status.value], "")],
        [
            (N_("summary.monthly_amount"), ""),
            ("", formats.money(s.monthly_amount, s.currency, language)),
        ],
        [(N_("summary.bank"), ""), ("", f"{s.bank_name}  {s.bank_account_masked}")],
        [
            (N_("summary.certification"), ""),
            (CERTIFICATION_KEYS[s.certification_status.value], ""),
        ],
        [(N_("summary.next_due"), ""), ("", formats.long_date(s.next_certification_due, language))],
    ]


class SummaryScreen(KioskScreen):
    handset = BooleanProperty(False)  # "listen on the handset" only where there is one

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        self.handset = flow.settings.handset
        summary = flow.ctx.summary
        rows = summary_rows(summary, flow.ctx.language) if summary is not None else []
        if rows != list(self.ids.table.lines):
            self.ids.table.lines = rows

    def clear(self) -> None:
        super().clear()
        self.ids.table.clear()


SCREEN = SummaryScreen
load_kv(__file__)
