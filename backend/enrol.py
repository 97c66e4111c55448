"""Enrolment from photos (`kiosk-backend enrol`): a demo pensioner's face, and optionally one
finger, as the references the back end compares kiosk evidence with.

    photos = [Photo.read(p) for p in paths]
    face = face_enrolment(photos)                       # slow part: no database involved
    finger = finger_enrolment(Photo.read(img), position=2)
    with sessions() as db:
        store(db, now, pensioner.id, [face, finger])    # one transaction, audited

Face: each photo must show exactly one face (faces too small to enrol are not counted), at
least `MIN_FACE_PX` wide, lit, sharp and frontal by the limits of the kiosk's quality gate
(biometrics/face/quality.py; its framing checks - too far, too close, off centre - judge a
kiosk camera's frame, not a photo, and the eyes-closed check needs the 68-point model, whose
terms keep it out of the back end). Big photos are scaled down for detection only. The
template is the kiosk's own extractor (biometrics/face/template.py): one mirror-averaged
descriptor per photo, as for still photos, averaged over the photos.

Finger: an image at 500 dpi, the kiosk's extractor (biometrics/fingerprint), refused when the
kiosk's quality check would coach the resident (except "off centre", a framing matter).

Stored: the photos themselves become the reference's source (one photo as it is; several as
an uncompressed ZIP, `1.jpg`, `2.png`, ...), so templates can be derived again when the
extractor changes. The template of the same extractor and version is replaced; templates of
simulated extractors ("sim-...") are kept, since they come from the persona key and not from
the photos, so simulated demos still work; any other template was derived from the photos
being replaced and is dropped. The audit entry records who, what and when: modality, finger
position, extractor, version, number of photos, what was replaced; no image, template,
hash of either, or quality measure.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import audit
from backend import models as m

ACTOR = "admin:enrol"
ACTION = "reference_enrolled"
MAX_PHOTO_BYTES = 30 * 1024 * 1024
# Face width (2.43 interocular distances) below which a photo is refused: the template's
# aligned chip (150 px, padding 0.25) holds a face of about 100 px, and a kiosk's camera
# sees a resident's face at 100 px and more (quality.py: 0.16 of a 640 px frame).
MIN_FACE_PX = 80
SIMULATED_PREFIX = "sim-"  # what the back end treats as a simulated extractor (api.py)


class EnrolInputError(ValueError):
    """A photo or image that cannot be enrolled: one line a technician can act on.
    `reason`: missing, unreadable, not_an_image, no_face, several_faces, face_too_small,
    face_too_dark, face_blurred, face_not_frontal, finger_... (the kiosk's coaching keys),
    no_features."""

    def __init__(self, message: str, reason: str = "bad_input"):
        super().__init__(message)
        self.reason = reason


class UnknownPensioner(LookupError):
    """No such persona or pensioner in this database."""


@dataclass(frozen=True)
class Photo:
    """A picture file's bytes and the name its errors mention."""

    name: str
    data: bytes

    @classmethod
    def read(cls, path: str | Path) -> Photo:
        p = Path(path)
        if not p.exists():
            raise EnrolInputError(f"no such file: {p}", "missing")
        if not p.is_file():
            raise EnrolInputError(f"not a picture file: {p}", "not_an_image")
        try:
            size = p.stat().st_size
            if size > MAX_PHOTO_BYTES:
                raise EnrolInputError(
                    f"{p}: {size // (1024 * 1024)} MB, more than a photo needs "
                    f"(at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB)",
                    "unreadable",
                )
            return cls(str(p), p.read_bytes())
        except OSError as exc:
            raise EnrolInputError(f"cannot read {p}: {exc.strerror or exc}", "unreadable") from exc

    @property
    def format(self) -> str:
        """The picture format by its first bytes (what `source_format` records)."""
        d = self.data
        if d[:3] == b"\xff\xd8\xff":
            return "jpeg"
        if d[:8] == b"\x89PNG\r\n\x1a\n":
            return "png"
        if d[:4] == b"RIFF" and d[8:12] == b"WEBP":
            return "webp"
        if d[:4] in (b"II*\x00", b"MM\x00*"):
            return "tiff"
        if d[:2] == b"BM":
            return "bmp"
        if d[:2] in (b"P2", b"P5", b"P3", b"P6"):
            return "pnm"
        return "image"


@dataclass(frozen=True)
class Enrolment:
    """A reference ready to store: its source, and one template made from it."""

    modality: str  # "face" or "fingerprint"
    finger_position: int  # 0 for a face
    extractor: str
    extractor_version: str
    template: bytes
    source_format: str
    source_data: bytes
    sources: int  # photos (face) or images (finger) it was made from


@dataclass(frozen=True)
class Stored:
    pensioner_id: int
    enrolment: Enrolment
    reference_created: bool
    template_replaced: bool
    templates_kept: int  # simulated templates left alongside
    templates_dropped: int  # templates derived from the photos this enrolment replaced


# ------------------------------------------------------------------------------- sources


def _source(photos: Sequence[Photo]) -> tuple[str, bytes]:
    if len(photos) == 1:
        return photos[0].format, photos[0].data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i, photo in enumerate(photos, 1):
            suffix = {"jpeg": "jpg", "image": "bin"}.get(photo.format, photo.format)
            info = zipfile.ZipInfo(f"{i}.{suffix}", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, photo.data)
    return "zip", buf.getvalue()


def _decode(photo: Photo):
    """BGR uint8 (EXIF orientation applied, as biometrics.face.images.load_image does)."""
    import cv2
    import numpy as np

    data = np.frombuffer(photo.data, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise EnrolInputError(f"{photo.name}: not a picture (cannot decode)", "not_an_image")
    return image


# ---------------------------------------------------------------------------------- face


def _quality_message(key: str, measures: dict, limits) -> str:
    from biometrics.face import quality as q

    if key == q.FACE_TOO_DARK:
        return (
            f"face too dark (mean grey {measures['face_mean']:.0f}, bright parts "
            f"{measures['face_p90']:.0f}; at least {limits.min_face_mean:.0f} and "
            f"{limits.min_face_p90:.0f}): use a better-lit photo"
        )
    if key == q.FACE_BLURRED:
        return (
            f"face blurred (blur {measures['blur']:.2f}, at most {limits.max_blur:.2f}): "
            "use a sharper photo"
        )
    return (
        f"face not frontal (yaw ratio {measures['yaw_ratio']:+.2f}, roll "
        f"{measures['roll_deg']:+.0f} deg; at most {limits.max_yaw_ratio:.2f} and "
        f"{limits.max_roll_deg:.0f} deg): use a photo facing the camera"
    )


def _descriptor(image, name: str, extractor):
    """The unit-length, mirror-averaged descriptor of the one face in `image` (BGR), after
    the checks above. Raises EnrolInputError."""
    from biometrics.face import models
    from biometrics.face import quality as q
    from biometrics.face.detect import to_gray
    from biometrics.face.geometry import Landmarks
    from biometrics.face.still import find_faces  # downscales big photos for detection

    boxes = find_faces(image)
    if not boxes:
        raise EnrolInputError(f"{name}: no face found", "no_face")
    # Faces too small to enrol do not count as a second person: that is where HOG's rare
    # false detections live (the astronaut portrait at 0.78 scale shows one of 56 px).
    faces = 1 + sum(b.w >= MIN_FACE_PX for b in boxes[1:])
    if faces > 1:
        raise EnrolInputError(
            f"{name}: {faces} faces found; a reference photo shows one person only",
            "several_faces",
        )
    box = boxes[0]
    gray = to_gray(image)
    landmarks = Landmarks.from_dlib(models.predictor("5")(gray, box.to_dlib()))
    width = q.FACE_WIDTH_PER_IOD * landmarks.interocular
    if width < MIN_FACE_PX:
        raise EnrolInputError(
            f"{name}: face too small (about {width:.0f} px wide, at least "
            f"{MIN_FACE_PX} px): use a larger or closer photo",
            "face_too_small",
        )
    gate = q.QualityGate()
    report = gate.assess(gray, [(box, landmarks)])
    checks = (q.FACE_TOO_DARK, q.FACE_BLURRED, q.FACE_NOT_FRONTAL)
    failed = [k for k in report.keys if k in checks]
    if failed:
        message = _quality_message(failed[0], report.measures, gate.config)
        raise EnrolInputError(f"{name}: {message}", failed[0])
    return extractor.frame_descriptor(image, box, mirror=True)


def face_enrolment(photos: Sequence[Photo], extractor=None) -> Enrolment:
    """The face reference made from `photos` (one or more of the same person)."""
    from biometrics.face import FaceError
    from biometrics.face.template import TemplateExtractor

    if not photos:
        raise EnrolInputError("no photo given", "missing")
    images = [_decode(p) for p in photos]  # every photo readable before the models load
    try:
        extractor = extractor or TemplateExtractor()
        pairs = zip(images, photos, strict=True)
        descriptors = [_descriptor(image, p.name, extractor) for image, p in pairs]
        template = extractor.from_descriptors(descriptors, mirror=True, source="enrol")
    except FaceError as exc:  # e.g. the model files missing: still one line
        raise EnrolInputError(str(exc), getattr(exc, "reason", "face_pipeline")) from exc
    source_format, source_data = _source(photos)
    return Enrolment(
        modality="face",
        finger_position=0,
        extractor=template.extractor,
        extractor_version=template.version,
        # As the back end reads face templates (api._compare): a JSON list of 128 numbers.
        template=json.dumps([float(x) for x in template.vector]).encode(),
        source_format=source_format,
        source_data=source_data,
        sources=len(photos),
    )


# -------------------------------------------------------------------------------- finger


def finger_enrolment(image: Photo, position: int) -> Enrolment:
    """The reference of finger `position` (ISO/IEC 19794-2, 1..10) from one image at 500
    dpi, with the kiosk's fingerprint extractor. Stored as that extractor's own lossless
    form (FingerTemplate.to_dict, JSON)."""
    import cv2
    import numpy as np

    from biometrics.fingerprint import FingerprintError, analyze, as_gray, assess
    from biometrics.fingerprint.quality import FINGER_OFF_CENTRE

    if not 1 <= position <= 10:
        raise ValueError(f"finger position {position}: 1..10 (ISO/IEC 19794-2)")
    data = np.frombuffer(image.data, dtype=np.uint8)
    decoded = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR) if data.size else None
    if decoded is None:
        raise EnrolInputError(f"{image.name}: not an image (cannot decode)", "not_an_image")
    try:
        gray = as_gray(decoded, "image")
        analysis = analyze(gray)
    except FingerprintError as exc:  # one line without the file's name: add it
        raise EnrolInputError(f"{image.name}: {exc}", getattr(exc, "reason", "bad_input")) from exc
    report = assess(analysis, gray)
    failed = [k for k in report.keys if k != FINGER_OFF_CENTRE]
    if failed:
        shown = ", ".join(failed)
        raise EnrolInputError(
            f"{image.name}: not good enough for a reference ({shown}; quality "
            f"{report.score}/100, {report.measures['minutiae']} minutiae)",
            failed[0],
        )
    template = analysis.template
    return Enrolment(
        modality="fingerprint",
        finger_position=position,
        extractor=template.extractor,
        extractor_version=str(template.version),
        template=json.dumps(template.to_dict(), separators=(",", ":")).encode(),
        source_format=image.format,
        source_data=image.data,
        sources=1,
    )


# ------------------------------------------------------------------------------ database


def find_pensioner(
    db: Session, *, persona: str | None = None, pensioner_id: int | None = None
) -> m.Pensioner:
    """A pensioner by demo persona key (assets/demo/pensioners.json, found by its first
    identity document) or by id. Raises UnknownPensioner."""
    if (persona is None) == (pensioner_id is None):
        raise ValueError("give a persona key or a pensioner id")
    if pensioner_id is not None:
        person = db.get(m.Pensioner, pensioner_id)
        if person is None:
            raise UnknownPensioner(f"no pensioner {pensioner_id}")
        return person
    from backend.seed import load_personas

    personas = load_personas()
    entry = next((p for p in personas if p["key"] == persona), None)
    if entry is None:
        keys = [p["key"] for p in personas]
        raise UnknownPensioner(f"no demo persona {persona!r} (keys {keys[0]} .. {keys[-1]})")
    doc = entry["documents"][0]
    person = db.scalar(
        select(m.Pensioner)
        .join(m.IdentityDocument)
        .where(
            m.IdentityDocument.doc_type == doc["type"],
            m.IdentityDocument.number == doc["number"],
        )
    )
    if person is None:
        raise UnknownPensioner(
            f"demo persona {persona} is not in this database (run `kiosk-backend seed --demo`)"
        )
    return person


def _store_one(db: Session, now: dt.datetime, pensioner_id: int, e: Enrolment) -> Stored:
    ref = db.scalar(
        select(m.EnrolledReference).where(
            m.EnrolledReference.pensioner_id == pensioner_id,
            m.EnrolledReference.modality == e.modality,
            m.EnrolledReference.finger_position == e.finger_position,
        )
    )
    created = ref is None
    if ref is None:
        ref = m.EnrolledReference(
            pensioner_id=pensioner_id, modality=e.modality, finger_position=e.finger_position
        )
        db.add(ref)
    ref.source_format = e.source_format
    ref.source_data = e.source_data
    ref.created_at = now
    db.flush()
    replaced = kept = dropped = 0
    existing = []
    if not created:
        existing = db.scalars(
            select(m.ReferenceTemplate).where(m.ReferenceTemplate.reference_id == ref.id)
        ).all()
    for tpl in existing:
        if (tpl.extractor, tpl.extractor_version) == (e.extractor, e.extractor_version):
            replaced += 1
            db.delete(tpl)
        elif tpl.extractor.startswith(SIMULATED_PREFIX):
            kept += 1
        else:
            dropped += 1
            db.delete(tpl)
    db.flush()
    db.add(
        m.ReferenceTemplate(
            reference_id=ref.id,
            extractor=e.extractor,
            extractor_version=e.extractor_version,
            template=e.template,
            created_at=now,
        )
    )
    stored = Stored(pensioner_id, e, created, bool(replaced), kept, dropped)
    audit.append(
        db,
        now,
        ACTOR,
        ACTION,
        f"pensioner:{pensioner_id}",
        {
            "modality": e.modality,
            "finger_position": e.finger_position,
            "extractor": e.extractor,
            "extractor_version": e.extractor_version,
            "photos" if e.modality == "face" else "images": e.sources,
            "reference_created": created,
            "template_replaced": stored.template_replaced,
            "simulated_templates_kept": kept,
            "templates_dropped": dropped,
        },
    )
    return stored


def store(
    db: Session, now: dt.datetime, pensioner_id: int, enrolments: Sequence[Enrolment]
) -> list[Stored]:
    """Stores every enrolment for the pensioner in one transaction (committed), one audit
    entry each."""
    if db.get(m.Pensioner, pensioner_id) is None:
        raise UnknownPensioner(f"no pensioner {pensioner_id}")
    try:
        out = [_store_one(db, now, pensioner_id, e) for e in enrolments]
        db.commit()
    except Exception:
        db.rollback()
        raise
    return out
