"""The kiosk's own log file, and reading it back a page at a time for the maintenance screen.

`kiosk run` logs to `<data_dir>/kiosk.log` (INFO and above), rotated at `log_file_max_kb` with
`log_file_count` older files kept (`kiosk.log.1` ... newest first); stderr keeps showing
warnings only, as before. `read_page` returns records newest first across the rotated files,
each as (time, level, text) with the text redacted (kiosk/maintenance/redact.py) and cut to
fit a line or two of the screen; a traceback's lines stay with their record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path

from kiosk.maintenance.redact import redact

LOG_FILE = "kiosk.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
MAX_TEXT = 110  # characters of a record shown (two lines of the maintenance table)

_RECORD = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2})(?:,\d+)? "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<text>.*)$"
)


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_FILE


def install(data_dir: Path, max_kb: int = 1024, count: int = 5) -> RotatingFileHandler:
    """Adds the rotating log file to the root logger (once per file): INFO and above go to
    the file; handlers already there (stderr) keep their level (WARNING unless set)."""
    path = log_path(data_dir).resolve()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return handler
    path.parent.mkdir(parents=True, exist_ok=True)
    for handler in root.handlers:
        if handler.level == logging.NOTSET:
            handler.setLevel(max(root.level, logging.WARNING))
    handler = RotatingFileHandler(
        path, maxBytes=max_kb * 1024, backupCount=count, encoding="utf-8", delay=True
    )
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


@dataclass(frozen=True)
class Page:
    lines: list[tuple[str, str, str]]  # (time, level, text), newest first
    page: int
    pages: int
    total: int

    def to_dict(self) -> dict:
        return {
            "lines": [list(line) for line in self.lines],
            "page": self.page,
            "pages": self.pages,
            "total": self.total,
        }


def _files(path: Path) -> list[Path]:
    """The log file and its rotations, newest first."""
    found = [path] if path.exists() else []
    n = 1
    while (older := path.with_name(f"{path.name}.{n}")).exists():
        found.append(older)
        n += 1
    return found


def records(path: Path) -> list[tuple[str, str, str]]:
    """Every record, newest first, as (time, level, raw text)."""
    out: list[tuple[str, str, str]] = []
    for file in _files(Path(path)):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        chunk: list[tuple[str, str, str]] = []
        for line in text.splitlines():
            m = _RECORD.match(line)
            if m:
                stamp = f"{m['date'][5:]} {m['time']}"
                chunk.append((stamp, m["level"], m["text"]))
            elif chunk and line.strip():
                stamp, level, body = chunk[-1]
                chunk[-1] = (stamp, level, f"{body} | {line.strip()}")
            elif line.strip():
                chunk.append(("", "", line.strip()))
        out.extend(reversed(chunk))
    return out


def _shorten(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_page(path: Path, page: int = 1, page_size: int = 5) -> Page:
    """One page of the log, newest first, redacted."""
    everything = records(path)
    total = len(everything)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    start = (page - 1) * page_size
    lines = [
        (stamp, level, _shorten(redact(text)))
        for stamp, level, text in everything[start : start + page_size]
    ]
    return Page(lines, page, pages, total)
