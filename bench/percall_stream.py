"""The long `?at=` stream of bench_percall.py, made in-process with a build's own Python (its `api`):
a tenant of its own (an admin) and a project with `--events` events (created, then renamed, 250
renames a save, as bench/suite_scenarios.py builds it). Prints {"project_id", "token", "events"}.

Usage: <build>/.venv/bin/python bench/percall_stream.py --url <conninfo> --data-dir <the server's AVM_DATA_DIR>
"""
from __future__ import annotations

import argparse
import json
import os
import uuid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--events", type=int, default=10_000)
    args = ap.parse_args()
    os.environ["AVM_DATA_DIR"] = args.data_dir  # the master key that seals personal fields lives there
    from api.services import Services
    from domain.application import CommandContext
    from domain.projects import Project
    from eventstore.database import Database

    services = Services(Database(url=args.url, embedded=False), pool_size=2)
    user, token = services.app.register_user(CommandContext.system("percall"), name="Stream", role="admin",
                                             email=f"pc-stream-{uuid.uuid4().hex[:8]}@example.com")
    tenant = str(user.id)
    ctx = CommandContext(tenant_id=tenant, actor_id=tenant, role="admin", correlation_id=f"percall-{uuid.uuid4()}")
    project = Project.create(tenant_id=tenant, title="stream v1")
    services.app._save(ctx, project)  # many renames in one save, as no command does
    while project.version < args.events:
        project = services.app.load(Project, str(project.id), tenant)
        for _ in range(min(250, args.events - project.version)):
            project.rename(f"stream v{project.version + 1}")
        services.app._save(ctx, project)
    services.close()
    print(json.dumps({"project_id": str(project.id), "token": token, "events": project.version}))


if __name__ == "__main__":
    main()
