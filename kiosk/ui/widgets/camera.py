"""The camera preview: numpy frames (H x W x 3, RGB, uint8) blitted into a texture, mirrored
like a looking glass, with the face-guide oval on top and the capture progress drawn round it.

Frames come from the Kivy thread only (the app pulls the latest one on each pump). A frame is
biometric data: `clear()` drops the texture, and the screen calls it whenever it is left and
on every reset.
"""

from __future__ import annotations

import numpy as np
from kivy.graphics.texture import Texture
from kivy.properties import ListProperty, NumericProperty, ObjectProperty, OptionProperty
from kivy.uix.widget import Widget

from kiosk.ui import theme
from kiosk.ui.widgets import load_kv


def _flat(frame: np.ndarray) -> np.ndarray:
    """The frame as Texture.blit_buffer takes a buffer without copying it: one dimension,
    contiguous and writable (a Cython limitation; Kivy only reads it). A view of the frame
    when it already is contiguous and writable, so a frame is not copied on every draw (a
    1280x720 frame is 2.7 MB); a copy only otherwise."""
    flat = np.ascontiguousarray(frame).reshape(-1)
    return flat if flat.flags.writeable else flat.copy()


class CameraPreview(Widget):
    texture = ObjectProperty(None, allownone=True)
    progress = NumericProperty(0.0)  # 0..1, drawn round the oval
    picture = ListProperty([0, 0, 0, 0])  # where the frame is drawn: x, y, w, h
    oval = ListProperty([0, 0, 0, 0])
    guide = OptionProperty("oval", options=("oval", "square"))  # a face, or a QR code
    ground_rgba = theme.CAMERA
    frames_shown = NumericProperty(0)

    def show_frame(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 BGR frame, got {frame.shape}")
        h, w = frame.shape[:2]
        if self.texture is None or tuple(self.texture.size) != (w, h):
            # BGR: the camera drivers' order (OpenCV's), uploaded as it comes.
            texture = Texture.create(size=(w, h), colorfmt="bgr", bufferfmt="ubyte")
            texture.flip_vertical()  # numpy rows run top down, GL rows bottom up
            texture.flip_horizontal()  # a mirror: the resident moves left, the picture too
            self.texture = texture
        self.texture.blit_buffer(_flat(frame), colorfmt="bgr", bufferfmt="ubyte")
        self.frames_shown += 1
        self._place()
        self.canvas.ask_update()

    def clear(self) -> None:
        self.texture = None
        self.progress = 0.0

    def on_size(self, *_):
        self._place()

    def on_pos(self, *_):
        self._place()

    def on_texture(self, *_):
        self._place()

    def _place(self) -> None:
        # The picture fills the widget's height (4:3 when there is no frame yet), centred.
        tw, th = self.texture.size if self.texture is not None else (4, 3)
        scale = min(self.width / tw, self.height / th) if tw and th else 1
        w, h = tw * scale, th * scale
        x, y = self.center_x - w / 2, self.center_y - h / 2
        self.picture = [x, y, w, h]
        if self.guide == "square":
            ow = oh = h * 0.6  # a phone's QR code held a hand's length from the camera
        else:
            ow, oh = h * 0.46, h * 0.66  # a face at a comfortable distance fills the oval
        self.oval = [self.center_x - ow / 2, self.center_y - oh / 2, ow, oh]


load_kv(__file__)
