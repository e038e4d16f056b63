"""The read yardstick (issue 17): the floor of a database read. A Litestar route that reads one
row by primary key through an async psycopg pool and answers it as JSON, nothing else: no auth,
no row-level security, no rate limiting, no metrics. Served like avm (`uvicorn
read_row_app:create_app --factory`, same worker count), on the reference's database of the
suite's embedded PostgreSQL (bench/suite.py sets READ_ROW_CONNINFO and READ_ROW_POOL_SIZE).

The row has a project's shape (id, title, description, status, version, config, two times), so
its answer is about the size of `GET /api/v1/projects/{id}`'s. The pool's connections are in
autocommit: one statement, one round trip.

    GET /rows/{id} -> 200 {"id": ..., "title": ..., ...} | 404
    GET /health    -> 200 {"status": "ok"}
"""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from psycopg_pool import AsyncConnectionPool

TABLE = "bench_read_rows"
ROWS = 256
SELECT = (f"SELECT id, title, description, status, version, config, created_at, updated_at"
          f" FROM {TABLE} WHERE id = %s")


class RowOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    description: str
    status: str
    version: int
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def prepare(conninfo: str, rows: int = ROWS) -> list[str]:
    """Create and fill the table once (before the servers start, so N workers do not race);
    returns the rows' ids for the load generator."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (id uuid PRIMARY KEY, title text NOT NULL, description text NOT NULL,"
                     " status text NOT NULL, version integer NOT NULL, config jsonb NOT NULL,"
                     " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)")
        ids = [uuid.uuid4() for _ in range(rows)]
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {TABLE} VALUES (%s, %s, '', 'draft', 1,"
                            """ '{"aspect_ratio": "16:9", "scene_seconds": 6}', now(), now())""",
                            [(i, f"row {n}") for n, i in enumerate(ids)])
        conn.execute(f"ANALYZE {TABLE}")
    return [str(i) for i in ids]


@get("/rows/{row_id:uuid}")
async def read_row(row_id: uuid.UUID, state: State) -> RowOut:
    async with state.pool.connection() as conn:
        cur = await conn.execute(SELECT, (row_id,))
        row = await cur.fetchone()
    if row is None:
        raise NotFoundException("row not found")
    return RowOut(*row)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        size = int(os.environ.get("READ_ROW_POOL_SIZE", "10"))
        pool = AsyncConnectionPool(os.environ["READ_ROW_CONNINFO"], min_size=size, max_size=size,
                                   kwargs={"autocommit": True}, open=False)
        await pool.open(wait=True)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Litestar(route_handlers=[read_row, health], lifespan=[lifespan], debug=False)
