"""A person's data in one NDJSON stream (access and portability, `GET /api/v1/me/export`).

One JSON object a line: `{"section": <name>, "data": {…}}` for every row of the person's profile,
identities, tokens, sessions, model keys, projects, scenes, jobs, assets, presets and usage, then
`{"section": "events", "data": <audit export line>}` for the whole audit trail (decoded `data`, plus
the stored bytes and hashes, so it verifies like an audit export), then one manifest line with the
count of each section. Every section is read in keyset pages of PAGE_SIZE rows, each its own short
statement: memory stays flat however much there is, and no transaction stays open while a slow
client reads. A failure midway ends the stream with an `{"error": …}` line and no manifest.

Secrets are left out by column, never by value: token and session hashes, sealed model keys.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from domain.shared import jsonable
from eventstore import jsontext
from projections.audit import Connect, Decode, export_record, iter_chain

log = logging.getLogger("avm.personal_export")

FORMAT = "avm-personal-export/1"
PAGE_SIZE = 1000


@dataclass(frozen=True)
class Section:
    """One table's rows of the tenant: which columns (never a secret one) and the key to page by."""

    name: str
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


SECTIONS = (
    Section("profile", "users", ("id", "email", "name", "image", "role", "settings", "default_preset_id", "version",
                                  "created_at", "updated_at", "deleted_at"), ("id",)),
    Section("identities", "identities", ("id", "provider", "subject", "email", "linked_at"), ("id",)),
    Section("tokens", "api_tokens", ("id", "name", "prefix", "created_at", "expires_at", "revoked_at"), ("id",)),
    Section("sessions", "sessions", ("id", "provider", "identity_id", "user_agent", "created_at", "ended_at",
                                     "ended_reason"), ("id",)),
    Section("model_keys", "model_keys", ("provider", "last4", "fingerprint", "set_at"), ("provider",)),
    Section("projects", "projects", ("*",), ("id",)),
    Section("scenes", "scenes", ("*",), ("project_id", "idx")),
    Section("jobs", "jobs", ("*",), ("id",)),
    Section("assets", "assets", ("*",), ("id",)),
    Section("presets", "presets", ("*",), ("id",)),
    Section("usage", "usage", ("*",), ("day",)),
    Section("daily_usage", "daily_usage", ("*",), ("day",)),
)
# Columns never exported even where a section takes every column ("*"): secrets and capabilities (a job's
# lease id is its worker's), and the tenant id every row shares (it is in the manifest).
SECRET_COLUMNS = frozenset({"token_hash", "id_token_hash", "nonce", "ciphertext", "key_id", "lease_id"})
LEFT_OUT = SECRET_COLUMNS | {"tenant_id"}


def section_page(conn: Any, section: Section, tenant_id: UUID, after: tuple[Any, ...] | None,
                 limit: int) -> list[dict[str, Any]]:
    """The next page of the section's rows after the key `after` (None: from the start)."""
    columns = "*" if section.columns == ("*",) else ", ".join(section.columns)
    key = ", ".join(section.key)
    where, args = "tenant_id = %s", [tenant_id]
    if after is not None:
        where += f" AND ({key}) > ({', '.join(['%s'] * len(after))})"
        args += list(after)
    args.append(limit)
    return conn.execute(f"SELECT {columns} FROM {section.table} WHERE {where} ORDER BY {key} LIMIT %s",
                        args).fetchall()


def section_rows(connect: Connect, section: Section, tenant_id: UUID, page_size: int = PAGE_SIZE
                 ) -> Iterator[list[dict[str, Any]]]:
    after: tuple[Any, ...] | None = None
    while True:
        with connect() as conn:
            rows = section_page(conn, section, tenant_id, after, page_size)
        if not rows:
            return
        yield [{k: v for k, v in row.items() if k not in LEFT_OUT} for row in rows]
        if len(rows) < page_size:
            return
        after = tuple(rows[-1][k] for k in section.key)


def _line(section: str, data: Any) -> bytes:
    return jsontext.dumps({"section": section, "data": jsonable(data)})


def export_lines(connect: Connect, decode: Decode, tenant_id: UUID, *, upto_seq: int, page_size: int = PAGE_SIZE,
                 now: Callable[[], datetime] | None = None) -> Iterator[bytes]:
    """The person's export, one chunk of lines per page, then the manifest line (see the module's docstring)."""
    counts: dict[str, int] = {}
    try:
        for section in SECTIONS:
            counts[section.name] = 0
            for rows in section_rows(connect, section, tenant_id, page_size):
                counts[section.name] += len(rows)
                yield b"".join(_line(section.name, row) + b"\n" for row in rows)
        counts["events"] = 0
        for rows in iter_chain(connect, tenant_id, upto_seq=upto_seq, page_size=page_size):
            counts["events"] += len(rows)
            yield b"".join(jsontext.dumps({"section": "events", "data": export_record(row, decode)}) + b"\n"
                           for row in rows)
        manifest = {"format": FORMAT, "tenant_id": str(tenant_id), "counts": counts, "events_upto_seq": upto_seq,
                    "exported_at": (now or (lambda: datetime.now(timezone.utc)))()}
        line = jsontext.dumps({"manifest": jsonable(manifest)}) + b"\n"
    except Exception as exc:  # noqa: BLE001 - the status line is gone; say so in the body
        log.warning("personal export of tenant %s interrupted: %s", tenant_id, exc)
        line = jsontext.dumps({"error": {"detail": "export interrupted; this file is incomplete"}}) + b"\n"
    yield line
