"""What a case keeps of each evidence submission for staff review.

The attempt row (backend/api.py) holds the machine's numbers: distance, score, outcome,
reason. This adds what a reviewer looks at besides: the liveness trace, the capture's quality
and the best frame when the evidence carries one. Templates are not kept here: the decision
has been made with them. Everything here is purged by the retention job
(backend/staff/retention.py) a configured number of days after the session's final decision.
"""

from __future__ import annotations

import base64
import datetime as dt

from sqlalchemy.orm import Session

from backend.models import CaseEvidence
from kiosk.api import contract as c

# Picture formats a browser shows as they are; others are not kept as a frame.
FRAME_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def record(
    db: Session,
    attempt_id: str,
    session_id: str,
    capture: c.EvidenceRequest,
    now: dt.datetime,
    frame: tuple[str, bytes] | None = None,
) -> CaseEvidence:
    """Adds the case evidence of one attempt in the caller's transaction. The best frame is
    the evidence's own JPEG (`best_frame_jpeg_b64`) unless `frame` gives one as (format,
    bytes); bytes that are not a JPEG are not kept."""
    if frame is None and capture.best_frame_jpeg_b64:
        data = base64.b64decode(capture.best_frame_jpeg_b64)
        frame = ("jpeg", data) if data[:3] == b"\xff\xd8\xff" else None
    if frame is None and capture.finger_image_png_b64:
        data = base64.b64decode(capture.finger_image_png_b64)
        frame = ("png", data) if data[:8] == b"\x89PNG\r\n\x1a\n" else None
    fmt, data = frame if frame and frame[0] in FRAME_FORMATS else (None, None)
    row = CaseEvidence(
        attempt_id=attempt_id,
        session_id=session_id,
        modality=capture.modality.value,
        captured_at=capture.captured_at,
        quality=capture.quality,
        liveness=capture.liveness.model_dump(mode="json") if capture.liveness else None,
        frame_format=fmt,
        frame_data=data,
        recorded_at=now,
    )
    db.add(row)
    return row
