"""The kiosk's log file for maintenance mode (kiosk/maintenance/logs.py): written by `kiosk
run` into the data directory with rotation, read back newest first, a page at a time,
redacted and cut to fit the screen."""

from __future__ import annotations

import logging

import pytest

from kiosk.maintenance import logs


@pytest.fixture
def root_logger():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield root
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_install_writes_info_to_the_file_and_keeps_stderr_at_warnings(tmp_path, root_logger):
    stderr = logging.StreamHandler()
    root_logger.addHandler(stderr)
    root_logger.setLevel(logging.WARNING)
    try:
        handler = logs.install(tmp_path, max_kb=16, count=2)
        assert logs.install(tmp_path) is handler  # once per file
        logging.getLogger("kiosk.test").info("maintenance: enter from attract")
        handler.flush()
        assert stderr.level == logging.WARNING
        text = logs.log_path(tmp_path).read_text()
        assert "INFO kiosk.test maintenance: enter from attract" in text
    finally:
        root_logger.removeHandler(stderr)


def test_rotation_and_pages_newest_first(tmp_path, root_logger):
    handler = logs.install(tmp_path, max_kb=16, count=3)
    log = logging.getLogger("kiosk.test")
    for n in range(400):
        log.warning("line %04d of the test", n)
    handler.flush()
    assert logs.log_path(tmp_path).with_name("kiosk.log.1").exists()
    first = logs.read_page(logs.log_path(tmp_path), page=1, page_size=5)
    assert [line[2] for line in first.lines] == [
        f"kiosk.test line {n:04d} of the test" for n in (399, 398, 397, 396, 395)
    ]
    assert first.lines[0][1] == "WARNING" and len(first.lines[0][0]) == len("11-28 10:00:00")
    assert first.pages == -(-first.total // 5) and first.total > 100
    second = logs.read_page(logs.log_path(tmp_path), page=2, page_size=5)
    assert second.lines[0][2].startswith("kiosk.test line 0394")
    last = logs.read_page(logs.log_path(tmp_path), page=999, page_size=5)
    assert last.page == last.pages


def test_records_are_redacted_cut_and_keep_their_traceback(tmp_path):
    path = logs.log_path(tmp_path)
    path.write_text(
        "2026-11-28 10:00:00,001 INFO kiosk.flow.runner api identify for A123456(3) born "
        "1946-03-12 failed\n"
        "2026-11-28 10:00:01,002 ERROR kiosk.outbox drain pass failed\n"
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "ValueError: name=陳大文\n"
        "2026-11-28 10:00:02,003 WARNING kiosk.test " + "x" * 300 + "\n"
    )
    page = logs.read_page(path, 1, 5)
    (_t3, _l3, long), (_t2, l2, failed), (t1, l1, identify) = page.lines
    assert (t1, l1) == ("11-28 10:00:00", "INFO")
    assert "A123456" not in identify and "1946" not in identify and "[id]" in identify
    assert l2 == "ERROR" and "Traceback" in failed and "陳大文" not in failed
    assert len(long) <= logs.MAX_TEXT and long.endswith("…")


def test_no_log_file_is_an_empty_page(tmp_path):
    page = logs.read_page(tmp_path / "kiosk.log")
    assert (page.lines, page.page, page.pages, page.total) == ([], 1, 1, 0)
