"""Face: detection, landmarks, quality coaching, best frames, templates and 1:1 comparison.

    analyzer = FaceAnalyzer()                       # one per camera stream
    best = BestFrames(keep=3)
    for frame in camera.frames():
        a = analyzer.process(frame.image, frame.timestamp)
        show(a.coaching)                            # a message key, or None when good
        best.offer(frame.image, a)                  # a.landmarks feed liveness
    template = TemplateExtractor().from_frames((c.frame, c.box) for c in best.frames)
    compare(template, reference)                    # -> distance, score, match, threshold

Still photos: `StillTemplates().from_path(path)`. Import cost: the dlib models load on first
use (about a second for the 68-point model).
"""

from biometrics.face.analyzer import FaceAnalyzer, FrameAnalysis
from biometrics.face.compare import DEFAULT_THRESHOLD, Comparison, compare, distance, score
from biometrics.face.detect import DetectorConfig, FaceDetector, FaceTracker, TrackedFace
from biometrics.face.errors import (
    FaceError,
    FaceInputError,
    ImageMissing,
    IncompatibleTemplates,
    NoFace,
    NotAnImage,
)
from biometrics.face.geometry import Box, Landmarks
from biometrics.face.quality import COACHING_KEYS, QualityConfig, QualityGate, QualityReport
from biometrics.face.selection import BestFrames
from biometrics.face.still import StillTemplates, find_faces
from biometrics.face.template import EXTRACTOR, EXTRACTOR_VERSION, FaceTemplate, TemplateExtractor

__all__ = [
    "COACHING_KEYS",
    "DEFAULT_THRESHOLD",
    "EXTRACTOR",
    "EXTRACTOR_VERSION",
    "BestFrames",
    "Box",
    "Comparison",
    "DetectorConfig",
    "FaceAnalyzer",
    "FaceDetector",
    "FaceError",
    "FaceInputError",
    "FaceTemplate",
    "FaceTracker",
    "FrameAnalysis",
    "ImageMissing",
    "IncompatibleTemplates",
    "Landmarks",
    "NoFace",
    "NotAnImage",
    "QualityConfig",
    "QualityGate",
    "QualityReport",
    "StillTemplates",
    "TemplateExtractor",
    "TrackedFace",
    "compare",
    "distance",
    "find_faces",
    "score",
]
