"""The layers' seams, checked on the source: module sizes and the domain's ignorance of the database.
What each layer may import is checked by import-linter (tests/unit/test_import_contracts.py)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules_of_500_lines_or_more(*packages: str) -> dict[str, int]:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for package in packages for p in (ROOT / package).rglob("*.py")}
    assert sizes, f"no module found under {packages}"
    return {m: n for m, n in sizes.items() if n >= 500}


def test_no_module_of_the_domain_the_event_store_the_projections_or_the_api_reaches_500_lines() -> None:
    assert modules_of_500_lines_or_more("domain", "eventstore", "projections", "api") == {}


def test_no_module_of_the_tests_or_the_migrations_reaches_500_lines() -> None:
    assert modules_of_500_lines_or_more("tests", "migrations") == {}


def test_no_benchmark_module_reaches_500_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "bench").rglob("*.py")}
    assert len(sizes) > 10 and {m: n for m, n in sizes.items() if n >= 500} == {}


def test_the_domain_names_no_database_constraint() -> None:
    from api.composition import CONSTRAINT_ERRORS

    sources = {str(p.relative_to(ROOT)): p.read_text() for p in (ROOT / "domain").rglob("*.py")}
    named = {(module, c) for module, text in sources.items() for c in CONSTRAINT_ERRORS if c in text}
    assert CONSTRAINT_ERRORS and named == set()
