"""The fast loop: `pytest -m "not integration"` runs the pure tests only and starts no PostgreSQL."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# One file from each folder whose tests need PostgreSQL or a running service, and one pure file.
MIXED = ["tests/unit/test_estimate.py", "tests/integration/test_event_store.py", "tests/http/test_openapi.py",
         "tests/faults/test_database_outage.py", "tests/fuzz/test_awkward_values.py"]


def test_not_integration_runs_only_the_unit_tests_and_starts_no_database_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["AVM_TEST_DATA_DIR"] = str(tmp_path / "test-data")  # where the embedded server would be created
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the installed plugins cost 2 s of start-up and are not needed

    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
                          "-m", "not integration", *MIXED],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    passed = re.findall(r"^PASSED (\S+)", run.stdout, re.MULTILINE)
    assert passed and all(p.startswith("tests/unit/test_estimate.py::") for p in passed), passed
    assert not (tmp_path / "test-data").exists(), "an embedded PostgreSQL was started"
