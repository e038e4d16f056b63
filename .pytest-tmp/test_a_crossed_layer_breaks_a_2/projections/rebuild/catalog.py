"""The catalog work of a rebuild: tables beside the live ones, their indexes, and what a swap must carry over."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from eventstore.statements import set_config_sql
from projections.base import InlineProjection

ASIDE = "__rb"  # suffix of the tables and indexes being built


def qualified(schema: str | None, name: str) -> sql.Composable:
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


def aside_name(name: str) -> str:
    return name[: 63 - len(ASIDE)] + ASIDE


@dataclass
class Target:
    """Where one live table's rows are being built."""

    live: str
    columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    schema: str | None  # None: public (blue/green), 'pg_temp': scratch
    name: str
    key_types: dict[str, str]
    row_key: tuple[str, ...]  # the live table's primary key (what identifies one row)
    type_oids: tuple[int, ...]  # of `columns`, for binary COPY

    @property
    def ident(self) -> sql.Composable:
        return qualified(self.schema, self.name)


def column_types(conn: psycopg.Connection[Any], table: str) -> dict[str, tuple[str, int]]:
    """Each column's (SQL type, type oid)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        return {name: (sql_type, oid) for name, sql_type, oid in cur.execute(
            "SELECT attname, format_type(atttypid, atttypmod), atttypid::int FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()}


def primary_key(conn: psycopg.Connection[Any], table: str) -> tuple[str, ...]:
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.n", (table,)).fetchall()
    return tuple(r[0] for r in rows)


def create_targets(conn: psycopg.Connection[Any], projections: Sequence[InlineProjection], scratch: bool) -> list[Target]:
    targets = []
    for projection in projections:
        for table, (columns, key_columns) in projection.tables.items():
            types = column_types(conn, table)
            name = aside_name(table)
            if scratch:
                conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                    sql.Identifier(name), sql.Identifier(table)))
            else:
                # Everything but the indexes: they are built after the bulk load, which is faster.
                # LIKE holds an ACCESS SHARE lock on the live table until we end: no DDL can change
                # its shape under the build (readers and writers are not affected).
                conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
                    sql.Identifier(name), sql.Identifier(table)))
            targets.append(Target(live=table, columns=columns, key_columns=key_columns,
                                   schema="pg_temp" if scratch else None, name=name,
                                   key_types={c: types[c][0] for c in key_columns},
                                   row_key=primary_key(conn, table) or tuple(columns),
                                   type_oids=tuple(types[c][1] for c in columns)))
    return targets


def check_swappable(conn: psycopg.Connection[Any], tables: Sequence[str]) -> None:
    """Refuse early what the swap could not carry over: foreign keys into a table, views on it."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT c.confrelid::regclass::text, c.conname FROM pg_constraint c"
            " WHERE c.contype = 'f' AND c.confrelid = ANY(%s::regclass[])"
            " UNION ALL SELECT DISTINCT d.refobjid::regclass::text, r.ev_class::regclass::text FROM pg_depend d"
            " JOIN pg_rewrite r ON r.oid = d.objid WHERE d.classid = 'pg_rewrite'::regclass"
            " AND d.refobjid = ANY(%s::regclass[]) AND r.ev_class <> d.refobjid",
            (list(tables), list(tables))).fetchall()
    if rows:
        raise RuntimeError("cannot swap " + ", ".join(f"{t} (used by {o})" for t, o in rows)
                           + ": drop the dependent objects or rebuild in place")


def build_indexes(conn: psycopg.Connection[Any], target: Target) -> list[str]:
    """The live table's indexes and index-backed constraints on the new table, under aside names.
    Returns the live names (the swap renames `<name>__rb` to `<name>`)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        indexes = cur.execute(
            "SELECT ic.relname, pg_get_indexdef(i.indexrelid), i.indisunique, c.conname, c.contype,"
            " c.condeferrable, c.condeferred, pg_get_constraintdef(c.oid)"
            " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
            " LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
            " WHERE i.indrelid = %s::regclass ORDER BY i.indisprimary DESC, ic.relname", (target.live,)).fetchall()
    names = []
    for index, definition, unique, conname, contype, deferrable, deferred, condef in indexes:
        aside = aside_name(index)
        if contype == "x":
            # Raw catalog text is appended, never formatted: it may hold braces or percent signs.
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                target.ident, sql.Identifier(aside)) + sql.SQL(condef))
            names.append(index)
            continue
        method = definition.split(" USING ", 1)[1]
        conn.execute(sql.SQL("CREATE {}INDEX {} ON {} USING ").format(
            sql.SQL("UNIQUE " if unique else ""), sql.Identifier(aside), target.ident) + sql.SQL(method))
        if contype in ("p", "u"):
            # The constraint takes the index's name; renaming the index at the swap renames both.
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}{}").format(
                target.ident, sql.Identifier(aside), sql.SQL("PRIMARY KEY" if contype == "p" else "UNIQUE"),
                sql.Identifier(aside),
                sql.SQL((" DEFERRABLE" if deferrable else "") + (" INITIALLY DEFERRED" if deferred else ""))))
        names.append(index)
    return names


def table_extras(conn: psycopg.Connection[Any], table: str) -> list[sql.Composable]:
    """What LIKE does not copy, as statements to re-apply to the new table once it has the live
    name: owner, grants, row-level security and its policies, triggers, storage options, comment."""
    out: list[sql.Composable] = []
    with conn.cursor(row_factory=tuple_row) as cur:
        owner, rls, force, options, comment = cur.execute(
            "SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity, reloptions,"
            " obj_description(oid, 'pg_class') FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()  # type: ignore[misc]
        me = cur.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
        ident = sql.Identifier(table)
        if owner != me:
            out.append(sql.SQL("ALTER TABLE {} OWNER TO {}").format(ident, sql.Identifier(owner)))
        grants = cur.execute(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,"
            " a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = %s::regclass AND a.grantee <> c.relowner", (table,)).fetchall()
        for grantee, privilege, grantable in grants:
            out.append(sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege), ident, sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else "")))
        if rls:
            out.append(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(ident))
        if force:
            out.append(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(ident))
        for name, permissive, roles, command, qual, check in cur.execute(
                "SELECT polname, polpermissive, ARRAY(SELECT CASE WHEN r = 0 THEN 'public'"
                " ELSE pg_get_userbyid(r) END FROM unnest(polroles) r), polcmd,"
                " pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)"
                " FROM pg_policy WHERE polrelid = %s::regclass ORDER BY polname", (table,)).fetchall():
            cmd = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}[command]
            role_list = sql.SQL(", ").join(sql.SQL("PUBLIC") if r == "public" else sql.Identifier(r) for r in roles)
            statement = sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
                sql.Identifier(name), ident, sql.SQL("PERMISSIVE" if permissive else "RESTRICTIVE"), sql.SQL(cmd),
                role_list)
            if qual is not None:
                statement += sql.SQL(" USING (" + qual + ")")
            if check is not None:
                statement += sql.SQL(" WITH CHECK (" + check + ")")
            out.append(statement)
        for (definition,) in cur.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
                " ORDER BY tgname", (table,)).fetchall():
            out.append(sql.SQL(definition))  # names the table by its live name, which the new one has by then
        if options:
            out.append(sql.SQL("ALTER TABLE {} SET ").format(ident) + sql.SQL("(" + ", ".join(options) + ")"))
        if comment is not None:
            out.append(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(comment)))
    return out


def owner_connection(url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=False, application_name="avm rebuild")
    # Long builds are expected; the scope lets row-level security (if forced on the owner) see every tenant.
    conn.execute("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;"
                 " SET lock_timeout = 0; SET maintenance_work_mem = '256MB'")
    conn.execute(set_config_sql(values={"app.scope": "system"}, local=False))
    conn.commit()
    return conn
