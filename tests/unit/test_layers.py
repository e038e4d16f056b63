"""The layers' seams, checked on the source: what each package may import, and module sizes."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"domain", "eventstore", "projections", "api"}


def imported_packages(package: str) -> dict[str, set[str]]:
    """Each module of `package` -> the packages of ours it imports, function-local imports included."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            found |= {n.split(".")[0] for n in names} & OURS
        out[str(path.relative_to(ROOT))] = found
    return out


@pytest.mark.parametrize(("package", "allowed"), [
    ("domain", {"domain"}),
    ("eventstore", {"eventstore"}),
    ("projections", {"projections", "domain", "eventstore"}),
])
def test_a_layer_imports_only_the_layers_below_it(package: str, allowed: set[str]) -> None:
    wrong = {module: sorted(found - allowed) for module, found in imported_packages(package).items()
             if found - allowed}
    assert wrong == {}


def test_no_module_of_the_event_store_or_the_projections_reaches_500_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for package in ("eventstore", "projections") for p in (ROOT / package).rglob("*.py")}
    assert {m: n for m, n in sizes.items() if n >= 500} == {}


def test_the_domain_names_no_database_constraint() -> None:
    from api.composition import CONSTRAINT_ERRORS

    sources = {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "domain").rglob("*.py")}
    named = {(module, c) for module, text in sources.items() for c in CONSTRAINT_ERRORS if c in text}
    assert CONSTRAINT_ERRORS and named == set()
