"""Clients generated from the served OpenAPI document work: the README walkthrough runs through their typed calls.

Python: openapi-python-client. TypeScript (the Next.js front end's stack): openapi-typescript types and
openapi-fetch calls, compiled with `tsc --strict` and run with node. Both talk to a fresh `avm serve`; the
worker's token comes from `avm users create --role worker` against the same database.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer, live_server

HERE = Path(__file__).resolve().parent
TS = HERE / "ts"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("clients-server")) as s:
        yield s


@pytest.fixture(scope="module")
def document(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = httpx.get(f"{server.url}/schema/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    path = tmp_path_factory.mktemp("document") / "openapi.json"
    path.write_text(json.dumps(r.json()))
    return path


def _tokens(server: LiveServer) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return (server.new_token("user", f"client-{tag}@example.com"),
            server.new_token("worker", f"worker-{tag}@example.com"))


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)}\n{out[-6000:]}"
    return out


def test_the_python_client_runs_the_walkthrough(server, document, tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = _run([str(BIN / "openapi-python-client"), "generate", "--path", str(document), "--meta", "none",
                "--config", str(HERE / "openapi-python-client.yml"), "--output-path", str(tmp_path / "avm_client")],
               cwd=tmp_path, env=env)
    assert "Warning" not in out, out  # every operation and response made it into the client
    tenant, worker = _tokens(server)

    walked = _run([sys.executable, str(HERE / "walkthrough.py"), server.url, tenant, worker], cwd=tmp_path,
                  env={**env, "PYTHONPATH": str(tmp_path)})

    assert walked.strip().endswith("walkthrough complete"), walked


def test_the_typescript_client_compiles_strictly_and_runs_the_walkthrough(server, document):
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed (.ci/run installs them)"
    if not (TS / "node_modules" / ".package-lock.json").exists():
        _run([npm, "ci", "--no-audit", "--no-fund"], cwd=TS)
    (TS / "generated").mkdir(exist_ok=True)
    shutil.rmtree(TS / "build", ignore_errors=True)
    bin_ = TS / "node_modules" / ".bin"
    # Request bodies may leave out fields that have defaults: the document marks them optional, so should the types.
    _run([str(bin_ / "openapi-typescript"), str(document), "--default-non-nullable", "false",
          "-o", str(TS / "generated" / "avm.ts")], cwd=TS)
    _run([str(bin_ / "tsc"), "-p", "tsconfig.json"], cwd=TS)
    tenant, worker = _tokens(server)

    walked = _run([node, str(TS / "build" / "walkthrough.js"), server.url, tenant, worker], cwd=TS)

    assert walked.strip().endswith("walkthrough complete"), walked
