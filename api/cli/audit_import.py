"""`avm audit import FILE…`: rebuild the world from verified exports (the last-resort recovery path)."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import click

from api.cli.support import fail_cleanly, migrate_if_owner, open_database


def export_files(paths: tuple[Path, ...]) -> list[Path]:
    """The export files named: files as given, a directory written by `avm audit export` as its index lists them."""
    import msgspec

    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        try:
            index = msgspec.json.decode((path / "index.json").read_bytes())
            files += [path / str(t["file"]) for t in index["tenants"]]
        except (OSError, ValueError, TypeError, KeyError, msgspec.DecodeError) as exc:
            raise click.ClickException(f"{path}: not a directory written by avm audit export ({exc})") from None
    return files


def check_file(path: Path, decode: Any) -> Any:
    """Verify one export offline (every link, payload and the manifest); it must be a whole chain."""
    from eventstore.verify import verify_export
    from projections.audit import shown_fields

    with path.open("rb") as f:
        report = verify_export(f, lambda row: shown_fields(row, decode))
    if not report.ok:
        where = f"position {report.first_bad_position}: " if report.first_bad_position is not None else ""
        raise click.ClickException(f"{path} does not verify ({where}{report.reason}); nothing was imported")
    manifest = report.manifest or {}
    if manifest.get("since") or manifest.get("until") or report.first_seq not in (1, None):
        raise click.ClickException(f"{path} is a partial export (since/until): only whole chains can be imported")
    return report


@click.command("import")
@click.argument("paths", metavar="FILE…", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@fail_cleanly
def import_(paths: tuple[Path, ...]) -> None:
    """Replay verified exports into an EMPTY store, tenant by tenant, then rebuild every read model.

    FILE is an export (`avm audit export --tenant`, `GET /api/v1/audit/export`) or a directory written
    by `avm audit export`. Every file is verified offline first; each tenant's events are then written
    byte for byte (positions, sequence numbers, times, hashes as exported) in one transaction, and its
    chain is recomputed from the stored rows before that transaction commits. Refuses a store that
    already holds events. Secrets that are never in the log (model API keys, session activity) are
    not restored: users set their model keys again.
    """
    from eventstore import importer
    from projections.audit import offline_decoder
    from projections.rebuild.catalog import owner_connection

    files = export_files(paths)
    if not files:
        raise click.ClickException("no export file given")
    decode = offline_decoder()
    reports = [check_file(f, decode) for f in files]
    tenants = [r.tenant_id for r in reports]
    duplicates = sorted({t for t in tenants if tenants.count(t) > 1})
    if duplicates:
        raise click.ClickException(f"two exports of tenant {duplicates[0]}: give each tenant once")
    click.echo(f"verified {len(files)} export(s): {sum(r.checked for r in reports)} events of {len(files)} tenants")

    database = open_database()
    migrate_if_owner(database.url)
    conn = owner_connection(database.url)
    try:
        if not importer.store_is_empty(conn):
            raise click.ClickException("refusing to import into a store that already holds events"
                                       " (use a new database, or `avm db reset --yes --no-seed` first)")
        conn.commit()
        for path, report in zip(files, reports):
            tenant = UUID(str(report.tenant_id))
            with conn.transaction(), path.open("rb") as f:
                stored = importer.import_chain(conn, tenant, importer.event_rows(f))
                if (stored.checked, stored.head_hash) != (report.checked, report.head_hash):
                    raise importer.ImportRefused(f"tenant {tenant}: {stored.checked} events stored up to"
                                                 f" {stored.head_hash}, the export holds {report.checked}")
            click.echo(f"ok   {tenant}  {stored.checked} events, chain re-verified, head {stored.head_hash}")
        with conn.transaction():
            position = importer.advance_positions(conn)
    except importer.ImportRefused as exc:
        raise click.ClickException(f"{exc}; the tenants reported ok above were imported, no read model was built:"
                                   " drop this database and import again into an empty one") from None
    finally:
        conn.close()
    _rebuild(database, position)


def _rebuild(database: Any, position: int) -> None:
    """Every read model from the imported log: the inline ones blue/green, the asynchronous ones replayed."""
    from api.services import Services
    from projections.rebuild import blue_green
    from projections.rebuild.async_views import rebuild_async

    services = Services(database, pool_size=2)
    try:
        inline = blue_green(database.url, services.app.mapper)
        asynchronous = rebuild_async(database.url, services.app.mapper)
    finally:
        services.close()
    click.echo(f"rebuilt {', '.join(inline.projections)}: {inline.rows} rows from {inline.events} events;"
               f" {', '.join(r.name for r in asynchronous)} replayed; the log ends at position {position}")
