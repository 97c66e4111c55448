"""`kiosk tour` refuses bad input with one line and exit code 2, before any window opens."""

from __future__ import annotations

from kiosk.cli import main


def test_tour_needs_an_output_directory(capsys):
    assert main(["tour"]) == 2
    assert "--out" in capsys.readouterr().err


def test_tour_knows_only_the_kiosk_languages(capsys, tmp_path):
    assert main(["tour", "--out", str(tmp_path), "--lang", "fr"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "zh_Hant_HK" in err
