"""`avm db backup` and `avm db restore`: a consistent pg_dump with a manifest, and a checked restore."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import click

from api.cli.support import fail_cleanly, open_database


def ledger_path() -> Path:
    """The erasure ledger: AVM_ERASURE_LEDGER, else <data dir>/erasure-ledger.jsonl (never inside a backup)."""
    from eventstore.database import data_dir

    return Path(os.environ.get("AVM_ERASURE_LEDGER") or data_dir() / "erasure-ledger.jsonl")


@click.command("backup")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The new or empty directory to write database.dump and manifest.json into"
                   " (default: ./avm-backup-<UTC time>).")
@fail_cleanly
def backup(out: Path | None) -> None:
    """Write a consistent backup: pg_dump (custom format) of one snapshot and a manifest of the log's heads.

    The dump holds every table, the wrapped data keys included; the master key file, the checkpoint
    key, media files and the erasure ledger are NOT in it: keep them (and copies of backups) apart.
    """
    from eventstore import backup as b
    from eventstore import migrate as m

    database = open_database()
    directory = out or Path(f"avm-backup-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
    revision, _head = m.status(database.url)
    try:
        manifest = b.backup(database.url, directory, embedded=database.embedded, revision=revision)
    except b.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {directory}/ ({b.DUMP_NAME}: {manifest['dump']['bytes']} bytes,"
               f" {b.MANIFEST_NAME}): {manifest['events']} events of {len(manifest['tenants'])} tenants,"
               f" log position {manifest['log_position']}, revision {revision}")
    click.echo("not in the backup: the master key file, the checkpoint key, media files and the erasure ledger;"
               " keep them apart from it", err=True)


@click.command("restore")
@click.argument("backup_dir", metavar="BACKUP", type=click.Path(exists=True, path_type=Path))
@fail_cleanly
def restore(backup_dir: Path) -> None:
    """Restore a backup (its directory, or a file in it) into an EMPTY database, migrate, re-apply the erasure
    ledger, and verify.

    Refuses a database that holds any event. After pg_restore: the schema is migrated to this
    version, erasures recorded in the ledger (made after the backup, too) are applied again, every
    tenant's chain is recomputed and compared with the manifest's heads, and every read model is
    compared with a rebuild from the log. Exits non-zero when any check fails.
    """
    from eventstore import backup as b
    from eventstore import migrate as m

    if backup_dir.is_file():  # its manifest.json or database.dump: the backup is the directory holding it
        backup_dir = backup_dir.parent
    database = open_database()
    try:
        manifest = b.restore(database.url, backup_dir, embedded=database.embedded)
    except b.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {backup_dir} (made {manifest['created_at']}, revision {manifest.get('revision')},"
               f" log position {manifest['log_position']})")
    m.upgrade(database.url)
    current, _head = m.status(database.url)
    click.echo(f"migrated to revision {current}")
    _reapply_erasure_ledger(ledger_path(), manifest, erase=partial(_erase_again, database))
    problems = _verify_restored(database, manifest)
    if problems:
        raise click.ClickException(f"the restored database does not verify: {problems} problem(s), see the BAD lines")
    click.echo(f"restore complete: {manifest['events']} events of {len(manifest['tenants'])} tenants,"
               " chains and read models verified")


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """The ledger's entries ({tenant_id, erased_at, by} a line); a line that is not one is an error."""
    entries = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict) or "tenant_id" not in entry:
                    raise ValueError("no tenant_id")
            except ValueError as exc:
                raise click.ClickException(f"{path} line {n} is not an erasure entry ({exc})") from None
            entries.append(entry)
    return entries


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _erase_again(database: Any, entries: list[dict[str, Any]]) -> list[str]:
    """Erase every tenant of the ledger the restored database does not show as erased (api/privacy.py)."""
    from api.privacy import reapply_erasures
    from api.services import Services

    services = Services(database, pool_size=2)
    try:
        return reapply_erasures(services, entries)
    finally:
        services.close()


def _reapply_erasure_ledger(path: Path, manifest: dict[str, Any],
                            erase: Any = None) -> list[str]:
    """Erase again every tenant the erasure ledger names, so a restore never brings erased data back.

    The ledger lives outside the database (and so outside every backup); erasures made after the
    backup are exactly the ones the restored database does not know. Erasing an already erased
    tenant is a no-op, so every entry is re-applied. The tenant ids to erase, in ledger order.
    """
    if not path.exists():
        click.echo(f"erasure ledger {path}: none (no erasure to re-apply)")
        return []
    entries = read_ledger(path)
    tenants = list(dict.fromkeys(str(e["tenant_id"]) for e in entries))
    made = _time(manifest.get("created_at"))
    later = {str(e["tenant_id"]) for e in entries
             if made is None or (_time(e.get("erased_at")) or datetime.max.replace(tzinfo=timezone.utc)) > made}
    for tenant in tenants:
        click.echo(f"erasure to re-apply: tenant {tenant}{' (erased after this backup)' if tenant in later else ''}")
    click.echo(f"erasure ledger {path}: {len(tenants)} tenant(s) to erase again, {len(later)} erased after the backup")
    if erase is not None and tenants:
        erased = erase(entries)  # idempotent: a tenant the restored database shows erased is left as it is
        click.echo(f"erased again: {len(erased)} tenant(s){': ' + ', '.join(erased) if erased else ''}")
    return tenants


def _holds(services: Any, tenant: Any, head: dict[str, Any]) -> bool:
    """The restored chain still holds the manifest's head (events appended after it, an erasure's, are fine)."""
    from projections import audit as a

    with services.read(tenant) as conn:
        found = a.hash_at(conn, tenant, head["tenant_seq"])
    return found is not None and found.hex() == head["head_hash"]


def _verify_restored(database: Any, manifest: dict[str, Any]) -> int:
    """Recompute every chain, check each still holds the manifest's head, compare read models with a rebuild."""
    from uuid import UUID

    from api.services import Services
    from eventstore.verify import verify_pages
    from projections import audit as a
    from projections.rebuild import verify

    bad = 0
    services = Services(database, pool_size=2)
    try:
        expected = {h["tenant_id"]: h for h in manifest["tenants"]}
        with services.read(scope="system") as conn:
            heads = {str(h["tenant_id"]): h for h in a.list_tenant_heads(conn)}
        for tenant in sorted(expected.keys() | heads.keys()):
            want, have = expected.get(tenant), heads.get(tenant)
            if have is None:
                bad += 1
                click.echo(f"BAD  {tenant}  missing from the restored database")
                continue
            report = verify_pages(a.iter_chain(partial(services.read, UUID(tenant)), UUID(tenant)), tenant)
            if not report.ok:
                bad += 1
                click.echo(f"BAD  {tenant}  position {report.first_bad_position}: {report.reason}")
            elif want is None:
                bad += 1
                click.echo(f"BAD  {tenant}  is not in the backup's manifest")
            elif not _holds(services, UUID(tenant), want):
                bad += 1
                click.echo(f"BAD  {tenant}  ends at tenant_seq {report.last_seq} ({report.head_hash}) without the"
                           f" manifest's head, tenant_seq {want['tenant_seq']} ({want['head_hash']})")
            elif report.last_seq > want["tenant_seq"]:  # events appended since pg_restore: re-applied erasures
                click.echo(f"ok   {tenant}  the manifest's head, then {report.last_seq - want['tenant_seq']} new events")
        click.echo(f"chains: {len(heads)} tenants recomputed, {len(heads) - bad} match the manifest")
        result = verify(database.url, services.app.mapper)
    finally:
        services.close()
    for difference in result.differences[:20]:
        click.echo(f"BAD  {difference.describe()}")
    if result.differences:
        bad += 1
    click.echo(f"read models: {', '.join(result.projections)}: {result.rows} rows"
               f"{' identical to a rebuild' if not result.differences else ' DIFFER from a rebuild'}")
    return bad
