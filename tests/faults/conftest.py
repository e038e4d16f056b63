"""Fault tests: real `avm serve` processes, a real embedded PostgreSQL, real outages and crashes.

Run them alone with `pytest tests/faults -m faults`; they also run in a plain `pytest`.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import FaultRig

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault injection with real processes (PostgreSQL outage, kill -9 of the service); "
                   "run alone with `pytest tests/faults -m faults`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test in this folder is a fault test, whether or not its module says so.
    for item in items:
        if HERE in Path(item.path).resolve().parents and "faults" not in item.keywords:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def rig(request: pytest.FixtureRequest) -> Iterator[FaultRig]:
    """A private working directory with its own `avm serve` and embedded PostgreSQL.

    Teardown stops everything the test started (services, CLI runs, PostgreSQL) and fails the
    test's teardown if any process of that working directory was still alive after that.
    """
    rig = FaultRig(name=request.node.name)
    try:
        yield rig
    finally:
        report = getattr(request.node, "rep_call", None)
        leftovers = rig.shutdown(keep=bool(report and report.failed))
        assert not leftovers, f"processes left running after cleanup: {leftovers}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
