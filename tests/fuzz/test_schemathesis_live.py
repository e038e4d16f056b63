"""Schemathesis with all its checks, every phase (examples, coverage, fuzzing, stateful), against a fresh `avm serve`.

Any finding fails the test. The run authenticates as an admin (every route is in reach, no daily quota) whose token
it cannot lose for good: tests/fuzz/live_hooks.py issues a new one whenever the API answers 401.
AVM_FUZZ_LIVE_EXAMPLES (default 12) sets the examples per operation; AVM_FUZZ_LIVE_SECONDS caps the run.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live import live_server

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
EXAMPLES = os.environ.get("AVM_FUZZ_LIVE_EXAMPLES", "12")
SECONDS = os.environ.get("AVM_FUZZ_LIVE_SECONDS", "240")
ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")  # what each check expects where, and why


def test_schemathesis_finds_nothing_with_every_check_and_phase(tmp_path):
    with live_server(tmp_path) as server:
        token = server.new_token("admin", "fuzz-admin@example.com")
        me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.live_hooks", "PYTHONPATH": str(ROOT),
               "AVM_FUZZ_DATABASE_URL": server.database_url, "AVM_FUZZ_TENANT": me["id"]}
        done = subprocess.run(
            [SCHEMATHESIS, "--no-color", "--config-file", str(CONFIG), "run", f"{server.url}/schema/openapi.json",
             "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", EXAMPLES,
             "--max-time", SECONDS, "--workers", "1", "--seed", "11",
             "--report", "junit", "--report-dir", str(tmp_path / "report")],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=int(SECONDS) + 300)
    out = done.stdout + done.stderr
    (ROOT / ".data" / "schemathesis-live.txt").write_text(out)
    assert done.returncode == 0, out[-20000:]
