"""The embedded PostgreSQL runs with settings suited to the service (issue 17), from its first start:
shared buffers sized to the machine, checkpoints spaced out, durability untouched."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eventstore.database import embedded_settings

SHOW = """
import json, sys
from pathlib import Path
import psycopg
from eventstore.database import start_embedded
server = start_embedded(Path(sys.argv[1]))
with psycopg.connect(server.get_uri("postgres")) as conn:
    rows = conn.execute("SELECT name, setting || ' ' || coalesce(unit, ''), pending_restart FROM pg_settings"
                        " WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'fsync',"
                        " 'synchronous_commit', 'full_page_writes')").fetchall()
print(json.dumps({name: [value.strip(), pending] for name, value, pending in rows}))
"""


def start_and_show(pgdata: Path) -> dict[str, list]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    out = subprocess.run([sys.executable, "-c", SHOW, str(pgdata)], env=env, capture_output=True, text=True,
                         timeout=120, check=True, cwd=Path(__file__).resolve().parents[2])
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_settings_scale_with_memory_and_never_touch_durability() -> None:
    assert embedded_settings(512 * 2**20)["shared_buffers"] == "128MB"   # a small machine keeps the default
    assert embedded_settings(4 * 2**30)["shared_buffers"] == "512MB"     # an eighth of memory
    assert embedded_settings(64 * 2**30)["shared_buffers"] == "1024MB"   # at most 1 GB
    assert embedded_settings(0)["shared_buffers"] == "128MB"             # memory unknown
    for mem in (0, 2**30, 2**40):
        assert not {"fsync", "synchronous_commit", "full_page_writes"} & set(embedded_settings(mem))


def test_a_new_embedded_server_has_them_from_its_first_start(tmp_path: Path) -> None:
    wanted = embedded_settings()
    expected_buffers = int(wanted["shared_buffers"].removesuffix("MB")) * 2**20 // 8192
    first = start_and_show(tmp_path / "pg")          # initdb, tune, restart: the shared buffers apply at once
    assert first["shared_buffers"] == [f"{expected_buffers} 8kB", False]
    assert first["max_wal_size"][0] == "4096 MB" and first["checkpoint_timeout"][0] == "900 s"
    assert first["fsync"][0] == "on" and first["synchronous_commit"][0] == "on" and first["full_page_writes"][0] == "on"
    again = start_and_show(tmp_path / "pg")          # an existing data directory: nothing to change
    assert again == first
