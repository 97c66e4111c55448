"""The committed contract document equals what the code generates and what the server serves."""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from kiosk.api import contract as c
from tests.conftest import REPO

DOC = REPO / "docs" / "api" / "openapi.json"
REGENERATE = "kiosk-backend openapi --out docs/api/openapi.json"


def test_committed_document_matches_code(backend):
    app, _ = backend
    committed = json.loads(DOC.read_text(encoding="utf-8"))
    assert committed == app.openapi(), f"contract drifted: run `{REGENERATE}` and review the diff"


def test_committed_document_matches_what_is_served(backend):
    _app, server = backend
    served = requests.get(server.url + c.API_PREFIX + "/openapi.json", timeout=10).json()
    assert served == json.loads(DOC.read_text(encoding="utf-8"))


def test_cli_prints_the_same_document():
    out = subprocess.run(
        [sys.executable, "-m", "backend.cli", "openapi"],
        capture_output=True,
        check=True,
        timeout=120,
        cwd=REPO,
    )
    assert json.loads(out.stdout) == json.loads(DOC.read_text(encoding="utf-8"))


def test_every_kiosk_operation_is_signed_and_answers_problems():
    doc = json.loads(DOC.read_text(encoding="utf-8"))
    ops = [(p, meth, op) for p, item in doc["paths"].items() for meth, op in item.items()]
    assert len(ops) >= 9
    for path, meth, op in ops:
        if path.endswith("/health") or path.endswith("/openapi.json"):
            continue
        assert op.get("security"), f"{meth} {path} is not signed"
        assert "401" in op["responses"], f"{meth} {path} documents no 401"
        content = op["responses"]["401"]["content"]
        assert list(content) == [c.PROBLEM_CONTENT_TYPE]
