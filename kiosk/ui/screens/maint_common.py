"""What the maintenance screens share (kiosk/flow/maintenance.py): the view they show, a
compact table, and the QR code picture. Technicians' screens: nothing here is spoken, and
nothing personal is ever shown (entering maintenance ended the resident's session)."""

from __future__ import annotations

import numpy as np
from kivy.graphics.texture import Texture
from kivy.properties import NumericProperty, ObjectProperty
from kivy.uix.widget import Widget

from kiosk.flow.maintenance import MaintView
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.table import Cell, Table


def maint_view(flow) -> MaintView:
    """What the maintenance screens show (an empty view outside maintenance)."""
    view = getattr(flow.ctx, "maint", None)
    return view if isinstance(view, MaintView) else MaintView()


class SmallTable(Table):
    """A Table in the small text role: more rows fit on a technician's screen."""

    def _build(self) -> None:
        self.clear_widgets()
        ncols = len(self.header) or (len(self.lines[0]) if self.lines else 1)
        self.cols = ncols
        widths = list(self.widths) or [1] * ncols
        for i, key in enumerate(self.header):
            self.add_widget(Cell(key=key, role="small", tone="secondary", size_hint_x=widths[i]))
        for n, row in enumerate(self.lines):
            for i, (key, raw) in enumerate(row):
                cell = Cell(
                    key=key or "",
                    raw=raw or "",
                    role="small",
                    size_hint_x=widths[i],
                    shaded=n % 2 == 0,
                )
                cell.bold = i in self.emphasis
                self.add_widget(cell)


class QrPicture(Widget):
    """A QR code (a matrix of 0 / 255 from cv2.QRCodeEncoder) drawn square and sharp on a
    white ground."""

    texture = ObjectProperty(None, allownone=True)
    side = NumericProperty(0)  # the square's side: the widget's smaller dimension

    def show(self, matrix: np.ndarray | None) -> None:
        if matrix is None:
            self.texture = None
            return
        h, w = matrix.shape[:2]
        texture = Texture.create(size=(w, h), colorfmt="luminance", bufferfmt="ubyte")
        texture.mag_filter = "nearest"
        texture.min_filter = "nearest"
        texture.flip_vertical()
        texture.blit_buffer(
            np.ascontiguousarray(matrix, dtype=np.uint8).tobytes(),
            colorfmt="luminance",
            bufferfmt="ubyte",
        )
        self.texture = texture


def qr_matrix(text: str) -> np.ndarray | None:
    """The QR code of `text` as a matrix with its quiet zone, or None when OpenCV cannot."""
    import cv2

    try:
        matrix = cv2.QRCodeEncoder.create().encode(text)
    except cv2.error:
        return None
    return matrix if matrix is not None and matrix.size else None


load_kv(__file__)
