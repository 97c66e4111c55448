"""The import rules of DESIGN.md, checked on the source (AST), so a violation fails even in
code no test executes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# The contract: shared by the kiosk and the back end; imports nothing else of the kiosk.
CONTRACT = {
    "kiosk.api.contract",
    "kiosk.api.signing",
    "kiosk.api.documents",
    "kiosk.api.sealing",
    "kiosk.api.ecard",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def _files(package: str):
    return sorted((REPO / package).rglob("*.py"))


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _is_contract(imp: str) -> bool:
    """drivers.<class>.base is a device contract; everything else in drivers/ is a driver."""
    parts = imp.split(".")
    return len(parts) >= 3 and parts[2] == "base"


def violations() -> list[str]:
    out = []
    for pkg in ("kiosk", "drivers", "biometrics", "backend"):
        for f in _files(pkg):
            mod = _module_name(f)
            for imp in _imports(f):
                why = None
                if _under(imp, "kivy") and not _under(mod, "kiosk.ui"):
                    why = "kivy outside kiosk/ui"
                elif _under(mod, "kiosk.flow") and (
                    _under(imp, "kiosk.ui") or (_under(imp, "drivers") and not _is_contract(imp))
                ):
                    why = "kiosk/flow imports the UI or a real driver"
                elif pkg == "drivers" and any(
                    _under(imp, p) for p in ("kiosk", "backend", "biometrics")
                ):
                    why = "drivers import the application"
                elif pkg == "biometrics" and any(
                    _under(imp, p) for p in ("kiosk", "backend", "drivers")
                ):
                    why = "biometrics import the application"
                elif (
                    pkg == "backend"
                    and _under(imp, "kiosk")
                    and not any(_under(imp, cm) for cm in CONTRACT)
                    and imp not in ("kiosk.api",)
                ):
                    why = "back end imports the kiosk beyond the contract"
                elif pkg == "backend" and _under(imp, "drivers"):
                    why = "back end imports drivers"
                elif pkg == "kiosk" and _under(imp, "backend"):
                    why = "kiosk imports the back end (start it as a process instead)"
                elif (
                    mod in CONTRACT
                    and _under(imp, "kiosk")
                    and not any(_under(imp, cm) for cm in CONTRACT)
                    and imp != "kiosk.api"
                ):
                    why = "contract imports the kiosk application"
                if why:
                    out.append(f"{f.relative_to(REPO)}: {imp} ({why})")
    return out


def test_import_rules_hold():
    assert violations() == []


@pytest.mark.parametrize(
    "pkg,source,expected",
    [
        ("kiosk/flow", "import kivy\n", "kivy outside kiosk/ui"),
        (
            "kiosk/flow",
            "from drivers.camera.opencv import OpenCvCamera\n",
            "kiosk/flow imports the UI or a real driver",
        ),
        ("drivers/camera", "from kiosk.api import client\n", "drivers import the application"),
        ("biometrics", "import backend.models\n", "biometrics import the application"),
        (
            "backend",
            "from kiosk.api.client import KioskApiClient\n",
            "back end imports the kiosk beyond the contract",
        ),
    ],
)
def test_the_checker_catches_violations(pkg, source, expected):
    """The rule checker itself must be able to fail: plant a violation and see it reported."""
    target = REPO / pkg / "_planted_violation.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.write_text(source, encoding="utf-8")
        found = [v for v in violations() if "_planted_violation" in v]
        assert found and expected in found[0]
    finally:
        target.unlink()
