"""Issue 17 (docs/decisions/i17-read.md §2): one scoped read four ways on async psycopg, client and PostgreSQL CPU per read.
Run from the worktree root: .venv/bin/python bench/results/i17-read/read_variants.py"""
import asyncio, tempfile, time, uuid
from pathlib import Path
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from eventstore.database import start_embedded
from eventstore.statements import SCOPE, set_config_sql
_SCOPE_SQL = set_config_sql(*SCOPE)  # as api/services.py scopes a read
tmp = Path(tempfile.mkdtemp(prefix="i17var"))
server = start_embedded(tmp / "pg")
url = server.get_uri("postgres")
with psycopg.connect(url, autocommit=True) as c:
    c.execute("CREATE TABLE IF NOT EXISTS t (tenant_id uuid, id uuid, title text, config jsonb, PRIMARY KEY (tenant_id, id))")
    c.execute("ALTER TABLE t ENABLE ROW LEVEL SECURITY")
    tid, pid = uuid.uuid4(), uuid.uuid4()
    c.execute("INSERT INTO t VALUES (%s,%s,'x','{\"a\":1}')", (tid, pid))
Q = "SELECT tenant_id, id, title, config FROM t WHERE tenant_id = %s AND id = %s"
N = 5000
async def main():
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
    pid_ = conn.info.backend_pid
    def pgcpu():
        f = open(f"/proc/{pid_}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / 100
    t = str(tid)
    async def A():
        async with conn.transaction():
            await conn.execute(_SCOPE_SQL, (t, "", t), prepare=True)
            return await (await conn.execute(Q, (tid, pid), prepare=True)).fetchone()
    async def B():
        async with conn.pipeline():
            await conn.execute(_SCOPE_SQL, (t, "", t), prepare=True)
            return await (await conn.execute(Q, (tid, pid), prepare=True)).fetchone()
    async def C():
        async with conn.pipeline() as p:
            await conn.execute(_SCOPE_SQL, (t, "", t), prepare=True)
            cur = await conn.execute(Q, (tid, pid), prepare=True)
            await p.sync()
            return await cur.fetchone()
    async def D():
        cur = psycopg.AsyncClientCursor(conn)
        q = sql.SQL(";").join([sql.SQL(_SCOPE_SQL), sql.SQL(Q)])
        await cur.execute(q, (t, "", t, tid, pid))
        cur.nextset()
        return await cur.fetchone()
    for name, f in ([("A tx", A), ("B pipe", B), ("C pipe+sync", C), ("D multi", D)] * 3):
        r = await f(); assert r and r["title"] == "x", (name, r)
        for _ in range(200): await f()
        c0, w0, p0 = time.process_time(), time.perf_counter(), pgcpu()
        for _ in range(N): await f()
        print(f"{name:12} cpu {1e6*(time.process_time()-c0)/N:7.1f} us  pg {1e6*(pgcpu()-p0)/N:7.1f} us  wall {1e6*(time.perf_counter()-w0)/N:7.1f} us")
    await conn.close()
asyncio.run(main())
