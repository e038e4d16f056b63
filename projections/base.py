"""What an inline projection is: tables, rows from an aggregate's state, same-transaction upsert."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

import msgspec
from psycopg import Cursor, sql
from psycopg.types.json import Jsonb

# A table's row mapping: each column, in the table's order, with the function of the aggregate's
# state that gives its value. It is the one place a table's columns are written down: the table's
# rows, the queries' select lists and the API's responses built from an aggregate all follow it.
RowMapping = Mapping[str, Callable[[Any], Any]]


def map_row(mapping: RowMapping, aggregate: Any) -> dict[str, Any]:
    """The aggregate's row, column -> plain value (JSON columns hold their dicts)."""
    return {column: get(aggregate) for column, get in mapping.items()}


def select_list(mapping: RowMapping, *, without: Sequence[str] = ("tenant_id",),
                expressions: Mapping[str, str] | None = None) -> str:
    """The columns a query selects: the mapping's, but `without`, each as itself or as the SQL
    expression `expressions` gives it (named as the column)."""
    expressions = expressions or {}
    return ", ".join(f"{expressions[c]} AS {c}" if c in expressions else c for c in mapping if c not in without)


class InlineProjection:
    """A read model written in the command's own transaction from the saved aggregate's state.

    `rows()` is the projector: a pure function of the aggregate (no clock, no randomness,
    no reads), so the inline path and a rebuild from the event log produce identical rows.
    """

    name: ClassVar[str]
    handles: ClassVar[tuple[type, ...]]
    # table -> (columns, key columns identifying the aggregate's rows)
    tables: ClassVar[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]]

    # Columns holding JSON: written as jsonb (their row mapping gives plain dicts and lists).
    json_columns: ClassVar[frozenset[str]] = frozenset()

    def rows(self, aggregate: Any) -> dict[str, list[tuple[Any, ...]]]:
        raise NotImplementedError

    def as_tuple(self, table: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """A mapped row as the table's parameters, in column order."""
        json = self.json_columns
        return tuple(Jsonb(row[c]) if c in json and row[c] is not None else row[c] for c in self.tables[table][0])

    def key(self, aggregate: Any, n: int) -> tuple[Any, ...]:
        """The first n of (tenant_id, aggregate id): what identifies the aggregate's rows in a table."""
        return (UUID(aggregate.tenant_id), aggregate.id)[:n]

    # Event types (e.g. "Project.Renamed") that change this projection's rows; None: every event.
    relevant: ClassVar[frozenset[str] | None] = None
    # Tables holding exactly one row per aggregate, keyed by their key columns: upserted.
    single_row: ClassVar[bool] = True

    def write(self, curs: Cursor[Any], aggregate: Any, event_types: frozenset[str] | None = None, *,
              fresh: bool = False) -> None:
        """Bring this aggregate's rows up to date: upsert a single row, or replace a set of rows
        (`fresh`: the aggregate was created by this save, so it has no rows to delete first)."""
        if self.relevant is not None and event_types is not None and not (self.relevant & event_types):
            return
        for table, rows in self.rows(aggregate).items():
            columns, key_columns = self.tables[table]
            if self.single_row and len(rows) == 1:
                curs.execute(_upsert_sql(table, columns, key_columns), rows[0], prepare=True)
                continue
            if not fresh:  # a new project has no scenes to delete: one statement fewer per create
                curs.execute(_delete_sql(table, key_columns), self.key(aggregate, len(key_columns)), prepare=True)
            if len(rows) > 1 and (document := _rows_document(columns, rows)) is not None:
                # One parameter, one statement string per table: prepared, and parsed once by psycopg.
                # A set story's 20 scenes were 120 parameters, past psycopg's parse cache (50), and
                # a statement PostgreSQL parsed and planned afresh for every request.
                curs.execute(_insert_rows_sql(table, columns), (document,), prepare=True)
            elif rows:
                curs.execute(_insert_sql(table, columns, len(rows)),
                             [v for row in rows for v in row], prepare=len(rows) == 1)


@lru_cache(maxsize=256)
def _delete_sql(table: str, key_columns: Sequence[str]) -> str:
    # Rendered to a string once: psycopg caches a query's parsing by its string, not a Composed.
    return sql.SQL("DELETE FROM {} WHERE {}").format(
        sql.Identifier(table),
        sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in key_columns)).as_string(None)


@lru_cache(maxsize=256)
def _upsert_sql(table: str, columns: Sequence[str], key_columns: Sequence[str]) -> str:
    others = [c for c in columns if c not in key_columns]
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        sql.SQL(", ").join(map(sql.Identifier, key_columns)),
        sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others)).as_string(None)


# Values that reach a column through JSON exactly as they would as a parameter of their own: text,
# integers, booleans, NULL, UUIDs, aware datetimes (microseconds kept), and JSON columns' documents.
# Anything else (bytes, floats, naive datetimes, ...) keeps the parameter per value.
_JSON_SAFE = (str, int, bool, type(None), UUID)


def _rows_document(columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> str | None:
    """The rows as one JSON array of objects keyed by column, or None when a value is not JSON-safe."""
    out = []
    for row in rows:
        obj = {}
        for column, value in zip(columns, row):
            if isinstance(value, Jsonb):
                value = value.obj
            elif not (isinstance(value, _JSON_SAFE) or (isinstance(value, datetime) and value.tzinfo is not None)):
                return None
            elif isinstance(value, str) and "\x00" in value:
                return None  # text refuses NUL either way; let the parameter path say so as before
            obj[column] = value
        out.append(obj)
    try:
        return msgspec.json.encode(out).decode()
    except (TypeError, ValueError, UnicodeError, msgspec.EncodeError):
        return None


@lru_cache(maxsize=256)
def _insert_rows_sql(table: str, columns: Sequence[str]) -> str:
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM jsonb_populate_recordset(NULL::{}, %s::jsonb)").format(
        sql.Identifier(table), cols, cols, sql.Identifier(table)).as_string(None)


@lru_cache(maxsize=1024)
def _insert_sql(table: str, columns: Sequence[str], n: int) -> str:
    one = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    return sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join([one] * n)).as_string(None)


def newest_first_query(table: str, columns: str, tenant_id: UUID, *, limit: int, after: tuple[Any, UUID] | None,
                       filters: Sequence[tuple[str, Sequence[Any]]] = ()) -> tuple[str, list[Any]]:
    """The statement and parameters of `newest_first` (also run on the event loop's reads)."""
    where, params = ["tenant_id = %s"], [tenant_id]
    for condition, values in filters:
        where.append(condition)
        params += list(values)
    if after:
        where.append("(created_at, id) < (%s, %s)")
        params += list(after)
    params.append(limit)
    return (f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT %s",
            params)


def newest_first(conn: Any, table: str, columns: str, tenant_id: UUID, *, limit: int,
                 after: tuple[Any, UUID] | None, filters: Sequence[tuple[str, Sequence[Any]]] = ()) -> list[Any]:
    """One page of a tenant's rows, newest first, keyset-paginated on (created_at, id).

    `filters` are (SQL condition, its parameters); a None condition is skipped by the caller."""
    return conn.execute(*newest_first_query(table, columns, tenant_id, limit=limit, after=after,  # type: ignore[no-any-return]
                                            filters=filters)).fetchall()
