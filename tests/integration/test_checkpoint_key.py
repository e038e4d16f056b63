"""The checkpoint signing key is a persisted secret: a checkpoint signed before a restart still verifies
against the trusted key after it, and a lost key is an error, never silently replaced."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import support


@pytest.fixture
def database() -> Iterator[str]:
    name, url = support.fresh_database("avm_key")
    yield url
    support.drop_database(name)


def avm(url: str, data: Path, secrets: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One CLI invocation: a new process, as after a restart (a container's data dir may be new)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AVM_", "TEST_DATABASE_URL"))}
    environ.update({"DATABASE_URL": url, "AVM_DATA_DIR": str(data), "AVM_SECRETS_DIR": str(secrets)})
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=support.ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def fingerprint(output: str) -> str:
    match = re.search(r"fingerprint ([0-9a-f:]+)|key ([0-9a-f:]+)", output)
    assert match, output
    return match.group(1) or match.group(2)


def test_a_checkpoint_signed_before_a_restart_verifies_against_the_persisted_key_after_it(
        database: str, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    first = tmp_path / "data-1"
    assert avm(database, first, secrets, "users", "create", "--email", "k@example.com").returncode == 0
    signed = avm(database, first, secrets, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    assert (secrets / "checkpoint_ed25519.pem").exists()
    assert (secrets / "checkpoint_ed25519.pem").stat().st_mode & 0o077 == 0
    checkpoint = next((first / "checkpoints").glob("*.json"))

    # Restarted with a fresh data dir (e.g. a new container): the key is the same one.
    later = tmp_path / "data-2"
    verified = avm(database, later, secrets, "audit", "verify", "--checkpoint", str(checkpoint))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "signature ok" in verified.stdout and "NOT compared" not in verified.stdout, verified.stdout
    again = avm(database, later, secrets, "audit", "checkpoint")
    assert again.returncode == 0, again.stderr
    assert fingerprint(again.stdout) == fingerprint(signed.stdout)


def test_a_lost_key_is_an_error_once_checkpoints_were_signed_never_a_new_key(database: str, tmp_path: Path) -> None:
    secrets, data = tmp_path / "secrets", tmp_path / "data"
    assert avm(database, data, secrets, "users", "create", "--email", "k@example.com").returncode == 0
    assert avm(database, data, secrets, "audit", "checkpoint").returncode == 0
    (secrets / "checkpoint_ed25519.pem").unlink()

    refused = avm(database, data, secrets, "audit", "checkpoint")
    assert refused.returncode != 0
    assert "missing" in refused.stderr and "never regenerated" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (secrets / "checkpoint_ed25519.pem").exists()
    assert len(list((data / "checkpoints").glob("*.json"))) == 1
