"""Fingerprint: image quality and coaching, minutiae extraction, ISO/IEC 19794-2 templates
and 1:1 comparison.

    analysis = analyze(capture.image)             # one pass: ridge maps + template
    report = assess(analysis, capture.image)      # score 0..100, coaching key or None
    reference = read_iso("enrolled.iso")          # the bureau's record, or load_template()
    compare(analysis.template, reference)         # -> score, match, threshold

Method (chosen by measurement, see bench/finger.py and docs/BENCHMARKS.md): a Gabor
contextual-filtering extractor (orientation field, ridge period, thinning, structural
clean-up) and Minutia Cylinder-Code local descriptors consolidated by relaxation (LSS-R).
Pure numpy/scipy/OpenCV/scikit-image; no model files.
"""

from biometrics.fingerprint.errors import (
    BaselineUnavailable,
    FingerInputError,
    FingerprintError,
    ImageMissing,
    IncompatibleTemplates,
    NoFeatures,
    NotAnImage,
    NotARecord,
)
from biometrics.fingerprint.extract import (
    Analysis,
    analyze,
    as_gray,
    extract,
    load_image,
    load_template,
)
from biometrics.fingerprint.matcher import (
    DEFAULT_THRESHOLD,
    FingerComparison,
    compare,
    similarity,
)
from biometrics.fingerprint.quality import (
    COACHING_KEYS,
    FingerQuality,
    QualityConfig,
    assess,
    quality,
)
from biometrics.fingerprint.template import (
    EXTRACTOR,
    EXTRACTOR_VERSION,
    FingerTemplate,
    from_iso,
    read_iso,
)

__all__ = [
    "COACHING_KEYS",
    "DEFAULT_THRESHOLD",
    "EXTRACTOR",
    "EXTRACTOR_VERSION",
    "Analysis",
    "BaselineUnavailable",
    "FingerComparison",
    "FingerInputError",
    "FingerQuality",
    "FingerTemplate",
    "FingerprintError",
    "ImageMissing",
    "IncompatibleTemplates",
    "NoFeatures",
    "NotARecord",
    "NotAnImage",
    "QualityConfig",
    "analyze",
    "as_gray",
    "assess",
    "compare",
    "extract",
    "from_iso",
    "load_image",
    "load_template",
    "quality",
    "read_iso",
    "similarity",
]
