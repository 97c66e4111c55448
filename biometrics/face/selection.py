"""Best-frame selection: keep the few best frames of a capture for the template.

Only frames that pass the quality gate and show the same face (track id) as the first good
frame are candidates. The `keep` best by quality score are kept, at least `min_gap_s` apart
(several distinct moments average out expression, pose and noise better than neighbouring
frames do). A candidate within `min_gap_s` of a kept frame replaces it only if it is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biometrics.face.analyzer import FrameAnalysis
from biometrics.face.geometry import Box


@dataclass(frozen=True, eq=False)
class Candidate:
    frame: np.ndarray
    box: Box
    score: float
    timestamp: float
    track_id: int
    analysis: FrameAnalysis


@dataclass
class BestFrames:
    keep: int = 3
    min_gap_s: float = 0.3
    _kept: list[Candidate] = field(default_factory=list)
    track_id: int | None = None

    def offer(self, frame: np.ndarray, analysis: FrameAnalysis) -> bool:
        """Consider a frame; True when it was kept. The frame must not be modified later
        (camera drivers hand out fresh arrays)."""
        face = analysis.primary
        if face is None or not analysis.quality.ok:
            return False
        if self.track_id is None:
            self.track_id = face.track_id
        elif face.track_id != self.track_id:
            return False
        cand = Candidate(
            frame, face.box, analysis.quality.score, analysis.timestamp, face.track_id, analysis
        )
        close = [k for k in self._kept if abs(k.timestamp - cand.timestamp) < self.min_gap_s]
        if close:
            if all(cand.score > k.score for k in close):
                for k in close:
                    self._kept.remove(k)
                self._kept.append(cand)
                self._trim()
                return True
            return False
        self._kept.append(cand)
        self._trim()
        return any(k is cand for k in self._kept)

    def _trim(self) -> None:
        self._kept.sort(key=lambda c: -c.score)
        del self._kept[self.keep :]

    @property
    def frames(self) -> list[Candidate]:
        """The kept frames, best first."""
        return list(self._kept)

    def __len__(self) -> int:
        return len(self._kept)

    def reset(self) -> None:
        self._kept = []
        self.track_id = None
