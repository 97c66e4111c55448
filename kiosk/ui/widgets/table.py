"""A plain table: a header of message keys, then rows of cells. A cell is (key, raw): a
message key to look up (a status), or a value shown as it is (an amount, a date). Every other
row is shaded, so the eye keeps to its row without gaps between rows."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty
from kivy.uix.gridlayout import GridLayout

from kiosk.ui import theme
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.text import FlowLabel


class Cell(FlowLabel):
    shaded = BooleanProperty(False)

    @property
    def ground_rgba(self):
        return theme.ROW_SHADE if self.shaded else None


class Table(GridLayout):
    header = ListProperty([])  # message keys, one per column ([] = no header row)
    lines = ListProperty([])  # [[(key, raw), ...], ...]: the rows below the header
    widths = ListProperty([])  # relative column widths
    emphasis = ListProperty([])  # columns drawn bold

    def on_header(self, *_):
        self._build()

    def on_lines(self, *_):
        self._build()

    def _build(self) -> None:
        self.clear_widgets()
        ncols = len(self.header) or (len(self.lines[0]) if self.lines else 1)
        self.cols = ncols
        widths = list(self.widths) or [1] * ncols
        for i, key in enumerate(self.header):
            self.add_widget(Cell(key=key, role="small", tone="secondary", size_hint_x=widths[i]))
        for n, row in enumerate(self.lines):
            for i, (key, raw) in enumerate(row):
                cell = Cell(key=key or "", raw=raw or "", size_hint_x=widths[i], shaded=n % 2 == 0)
                cell.bold = i in self.emphasis
                self.add_widget(cell)

    def clear(self) -> None:
        self.lines = []


load_kv(__file__)
