"""Templates: made from frames and stills, carried with their extractor, compared 1:1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biometrics.face import (
    EXTRACTOR,
    EXTRACTOR_VERSION,
    BestFrames,
    FaceAnalyzer,
    FaceTemplate,
    IncompatibleTemplates,
    StillTemplates,
    TemplateExtractor,
    compare,
    score,
)
from biometrics.face.images import load_image
from drivers.camera.simulator import SimulatedCamera
from tests.biometrics.face.conftest import shifted


@pytest.fixture(scope="module")
def stills():
    return StillTemplates()


def test_best_frames_from_a_capture_make_a_template(default_face, default_face_path, stills):
    frames = [shifted(default_face, dx, 0) for dx in (-20, 0, 20, 0, -10)] * 3
    with SimulatedCamera(frames, realtime=False, fps=15) as cam:
        analyzer, best = FaceAnalyzer(), BestFrames(keep=3, min_gap_s=0.3)
        for _ in range(15):
            f = cam.read()
            best.offer(f.image, analyzer.process(f.image, f.timestamp))
    kept = best.frames
    assert len(kept) == 3
    stamps = sorted(c.timestamp for c in kept)
    assert min(np.diff(stamps)) >= 0.3
    assert [c.score for c in kept] == sorted((c.score for c in kept), reverse=True)
    template = TemplateExtractor().from_frames((c.frame, c.box) for c in kept)
    assert template.extractor == EXTRACTOR and template.version == EXTRACTOR_VERSION
    assert template.meta["frames"] == 3 and template.vector.shape == (128,)
    assert np.linalg.norm(template.vector) == pytest.approx(1.456, rel=1e-4)
    reference = stills.from_path(default_face_path).template
    result = compare(template, reference)
    assert result.match and result.distance < 0.3 and result.score > 0.99


def test_best_frames_skip_bad_frames_and_other_faces(default_face):
    analyzer, best = FaceAnalyzer(), BestFrames()
    dark = (default_face * 0.3).astype(np.uint8)
    assert not best.offer(dark, analyzer.process(dark, 0.0))
    assert best.offer(default_face, analyzer.process(default_face, 0.5))
    assert best.track_id is not None
    assert len(best) == 1


def test_template_round_trip_and_versions(default_face_path, stills):
    t = stills.from_path(default_face_path).template
    data = json.loads(json.dumps(t.to_dict()))
    back = FaceTemplate.from_dict(data)
    assert np.array_equal(back.vector, t.vector) and back.meta["mirror"] is True
    assert compare(t, back).distance == 0.0
    other = FaceTemplate(t.vector, version="0.9")
    with pytest.raises(IncompatibleTemplates):
        compare(t, other)
    with pytest.raises(ValueError):
        FaceTemplate(np.zeros(64))
    with pytest.raises(ValueError):
        FaceTemplate(np.full(128, np.nan))


def test_score_is_monotone_and_half_at_the_threshold():
    ds = np.linspace(0, 1.5, 31)
    scores = [score(d) for d in ds]
    assert all(0 <= s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert score(0.6) == pytest.approx(0.5)


def test_genuine_and_impostor_photos(faces_dir, stills):
    obama = [stills.from_path(p).template for p in sorted((faces_dir / "obama").iterdir())[:2]]
    biden = stills.from_path(sorted((faces_dir / "biden").iterdir())[0]).template
    same = compare(obama[0], obama[1])
    other = compare(obama[0], biden)
    assert same.match and not other.match
    assert same.distance < 0.5 < 0.7 < other.distance


def test_several_faces_in_a_photo_take_the_largest(faces_dir, stills):
    result = stills.from_image(load_image(faces_dir / "_misc_frames" / "two_people.jpg"))
    assert result.faces == 2
