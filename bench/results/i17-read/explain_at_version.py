"""Issue 17 (docs/decisions/i17-read.md §3): EXPLAIN of the ?at= statement on a 10,000-event stream, and the variants tried.
Run from the worktree root: .venv/bin/python bench/results/i17-read/explain_at_version.py"""
import sys, os, tempfile, uuid
sys.path.insert(0, os.getcwd())
from pathlib import Path
sys.argv = ["x"]
import bench.profile_requests as pr
tmp = Path(tempfile.mkdtemp(prefix="i17exp"))
services, client = pr.setup(tmp)
from domain.application import CommandContext
from domain.projects import Project
owner, token = services.app.register_user(CommandContext.system("p"), name="S", role="admin", email=f"p-{uuid.uuid4().hex[:8]}@example.com")
tenant = str(owner.id)
ctx = CommandContext(tenant_id=tenant, actor_id=tenant, role="admin", correlation_id=f"x-{uuid.uuid4()}")
project = Project.create(tenant_id=tenant, title="stream v1")
services.app._save(ctx, project)
while project.version < 10_000:
    project = services.app.load(Project, str(project.id), tenant)
    for _ in range(min(250, 10_000 - project.version)):
        project.rename(f"stream v{project.version + 1}")
    services.app._save(ctx, project)

V1 = (
    "WITH s AS (SELECT originator_version, topic, state FROM snapshots"
    " WHERE originator_id = %(id)s AND originator_version <= %(v)s"
    " AND EXISTS (SELECT 1 FROM events e WHERE e.originator_id = %(id)s AND e.originator_version = 1)"
    " ORDER BY originator_version DESC LIMIT 1)"
    " SELECT originator_version, topic, state FROM s"
    " UNION ALL (SELECT e.originator_version, e.topic, e.state"
    " FROM (SELECT coalesce((SELECT originator_version FROM s), 0) AS gt) b,"
    " LATERAL (SELECT originator_version, topic, state FROM events WHERE originator_id = %(id)s"
    " AND originator_version > b.gt AND originator_version <= %(v)s ORDER BY originator_version) e)")
V2 = (
    "WITH s AS (SELECT originator_version, topic, state FROM snapshots"
    " WHERE originator_id = %(id)s AND originator_version <= %(v)s::int"
    " AND EXISTS (SELECT 1 FROM events e WHERE e.originator_id = %(id)s AND e.originator_version = 1)"
    " ORDER BY originator_version DESC LIMIT 1)"
    " SELECT originator_version, topic, state FROM s"
    " UNION ALL (SELECT originator_version, topic, state FROM events WHERE originator_id = %(id)s"
    " AND originator_version > coalesce((SELECT originator_version FROM s), 0)::int AND originator_version <= %(v)s::int"
    " ORDER BY originator_version)")
V3 = (
    "WITH s AS (SELECT originator_version, topic, state FROM snapshots"
    " WHERE originator_id = %(id)s AND originator_version <= %(v)s"
    " AND EXISTS (SELECT 1 FROM events e WHERE e.originator_id = %(id)s AND e.originator_version = 1)"
    " ORDER BY originator_version DESC LIMIT 1),"
    " b AS MATERIALIZED (SELECT coalesce(max(originator_version), 0) AS gt FROM s)"
    " SELECT originator_version, topic, state FROM s"
    " UNION ALL (SELECT e.originator_version, e.topic, e.state FROM b JOIN events e"
    " ON e.originator_id = %(id)s AND e.originator_version > b.gt AND e.originator_version <= %(v)s"
    " ORDER BY e.originator_version)")
import time
with services.read(tenant) as conn:
    for name, q in (("V3", V3),):
        plan = [r["QUERY PLAN"] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + q, {"id": project.id, "v": 7777}).fetchall()]
        print(name, [l for l in plan if "Execution Time" in l or "Rows Removed" in l or "Index Cond" in l])
        rows = conn.execute(q, {"id": project.id, "v": 7777}).fetchall()
        print(name, [r["originator_version"] for r in rows])
        t=time.perf_counter()
        for v in range(100, 10000, 97):
            conn.execute(q, {"id": project.id, "v": v}, prepare=True).fetchall()
        print(name, "us/query", 1e6*(time.perf_counter()-t)/len(range(100,10000,97)))
client.__exit__(None, None, None)
services.close()
