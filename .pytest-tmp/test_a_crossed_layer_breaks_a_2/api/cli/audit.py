"""`avm audit …`: verify, export and checkpoint the per-tenant event history."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import click

from api.cli.support import fail_cleanly, open_services, tenant_option


@contextmanager
def _services() -> Iterator[Any]:
    services = open_services(migrate=False)
    try:
        yield services
    finally:
        services.close()


def _line(ok: bool, tenant: str | None, text: str) -> None:
    click.echo(f"{'ok ' if ok else 'BAD'}  {tenant or '?'}  {text}")


@click.group()
def audit() -> None:
    """Verify, export and checkpoint the audit trail."""


@audit.command("verify")
@click.option("--tenant", default=None, help="Only this tenant (default: every tenant).")
@click.option("--file", "file", type=click.Path(path_type=Path), default=None,
              help="Verify an export file, or a directory written by `avm audit export` without --tenant,"
                   " offline (no database is used).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Also check a signed checkpoint: every tenant in it must still hold its head.")
@click.option("--public-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="PEM key the checkpoint must be signed by (default: the key at $AVM_CHECKPOINT_KEY).")
@fail_cleanly
def verify(tenant: str | None, file: Path | None, checkpoint: Path | None, public_key: Path | None) -> None:
    """Recompute hash chains and report the first broken link; exits 1 when any chain is broken."""
    tenant_id = tenant_option(tenant)
    signed = _read_checkpoint(checkpoint, public_key) if checkpoint else None
    if file is not None and file.is_dir():
        bad = _verify_directory(file, tenant_id, signed)
    elif file is not None:
        bad = _verify_file(file, tenant_id, signed)
    else:
        bad = _verify_database(tenant_id, signed)
    if bad:
        raise click.ClickException(f"the audit trail does not verify: {bad} problem(s), see the BAD lines")


def _read_checkpoint(path: Path, public_key: Path | None) -> Any:
    from eventstore import checkpoint as cp

    try:
        signed = cp.read(path, cp.trusted_public_key(public_key))
    except cp.CheckpointProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"checkpoint {path.name}: signature ok (key {cp.fingerprint(signed.public_key)}"
               f"{'' if signed.key_trusted else ', NOT compared with a trusted key'}),"
               f" {len(signed.heads)} tenants, made {signed.created_at.isoformat()}")
    return signed


INDEX = "index.json"  # of a directory export: every tenant's file, event count and head hash
INDEX_FORMAT = "avm-audit-export-set/1"


def _verify_directory(directory: Path, tenant_id: UUID | None, signed: Any) -> int:
    """Every tenant's file of a directory export, each checked as one export and against index.json."""
    import msgspec

    index_path = directory / INDEX
    try:
        index = msgspec.json.decode(index_path.read_bytes())
        listed = {str(t["tenant_id"]): t for t in index["tenants"]}
        if index.get("format") != INDEX_FORMAT:
            raise ValueError(f"format {index.get('format')!r}")
    except FileNotFoundError:
        raise click.ClickException(f"{directory} has no {INDEX}: not a directory written by avm audit export") from None
    except (OSError, ValueError, TypeError, KeyError, msgspec.DecodeError) as exc:
        raise click.ClickException(f"{index_path} is unreadable: {exc}") from None
    files = {p.name for p in directory.glob("*.ndjson")}
    bad = 0
    if tenant_id is not None:
        if str(tenant_id) not in listed:
            raise click.ClickException(f"{directory} holds no export of tenant {tenant_id}")
        listed = {str(tenant_id): listed[str(tenant_id)]}
    else:
        for name in sorted(files - {str(t["file"]) for t in listed.values()}):
            bad += 1
            _line(False, name.removesuffix(".ndjson"), f"{name} is not listed in {INDEX} (a file was added)")
    for tenant, entry in listed.items():
        if str(entry["file"]) not in files:
            bad += 1
            _line(False, tenant, f"{entry['file']} is missing (a tenant's export was removed)")
            continue
        bad += _verify_file(directory / str(entry["file"]), UUID(tenant), signed, listed=entry)
    if not listed:
        click.echo(f"{directory}: no tenants")
    return bad


def _verify_file(path: Path, tenant_id: UUID | None, signed: Any, listed: dict[str, Any] | None = None) -> int:
    from eventstore.verify import verify_export
    from projections.audit import offline_decoder, shown_fields

    decode = offline_decoder()
    expect = {t: {h.tenant_seq: h.head_hash} for t, h in signed.heads.items()} if signed else None
    try:
        with click.open_file(str(path), "rb") as f:
            report = verify_export(f, lambda row: shown_fields(row, decode), expect)
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    if tenant_id is not None and report.tenant_id != str(tenant_id):
        raise click.ClickException(f"{path} is an export of tenant {report.tenant_id}, not {tenant_id}")
    if report.ok and listed is not None and (listed.get("count"), listed.get("head_hash")) != \
            (report.checked, report.head_hash):
        report.fail(None, None, f"{path.name} holds {report.checked} events up to head {report.head_hash}, but {INDEX}"
                                f" lists {listed.get('count')} events up to head {listed.get('head_hash')}")
    if report.ok and signed is not None:
        head = signed.heads.get(report.tenant_id or "")
        manifest = report.manifest or {}
        exported_at = _time(manifest.get("exported_at"))
        if head is not None and head.tenant_seq > report.last_seq and not manifest.get("until") \
                and exported_at is not None and exported_at > signed.created_at:
            report.fail(None, head.tenant_seq, f"the checkpoint holds tenant_seq {head.tenant_seq}, but this later "
                                               f"export ends at tenant_seq {report.last_seq}: its tail was deleted")
    if report.ok:
        matched = (f", matches the checkpoint at tenant_seq {report.checkpoint_matched[-1]}"
                   if report.checkpoint_matched else "")
        span = f"tenant_seq {report.first_seq}..{report.last_seq}" if report.checked else "no events"
        _line(True, report.tenant_id, f"{report.checked} events ({span}), head {report.head_hash}{matched}")
        return 0
    where = f"position {report.first_bad_position}: " if report.first_bad_position is not None else ""
    _line(False, report.tenant_id, f"{where}{report.reason}")
    return 1


def _time(value: Any) -> Any:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _verify_database(tenant_id: UUID | None, signed: Any) -> int:
    from eventstore.checkpoint import compare
    from eventstore.verify import verify_pages
    from projections import audit as a

    bad = 0
    with _services() as services:
        with services.read(tenant_id, scope=None if tenant_id else "system") as conn:
            heads = a.list_tenant_heads(conn) if tenant_id is None else [h for h in [a.get_head(conn, tenant_id)] if h]
        if tenant_id is not None and not heads:
            raise click.ClickException(f"tenant {tenant_id} has no events")
        for head in heads:
            tenant = head["tenant_id"]
            report = verify_pages(a.iter_chain(partial(services.read, tenant), tenant, upto_seq=head["tenant_seq"]), tenant)
            if report.ok:
                _line(True, str(tenant), f"{report.checked} events, head {report.head_hash}")
            else:
                bad += 1
                _line(False, str(tenant), f"position {report.first_bad_position} (tenant_seq "
                                          f"{report.first_bad_seq}): {report.reason}")
        if signed is not None:
            def hash_at(t: UUID, seq: int) -> bytes | None:
                with services.read(t) as conn:
                    return a.hash_at(conn, t, seq)

            def head_seq(t: UUID) -> int:
                with services.read(t) as conn:
                    h = a.get_head(conn, t)
                return h["tenant_seq"] if h else 0

            only = [str(tenant_id)] if tenant_id is not None else None
            for finding in compare(signed, hash_at, head_seq, only):
                if not finding.ok:
                    bad += 1
                _line(finding.ok, finding.tenant_id, f"checkpoint: {finding.message}")
    if not heads:
        click.echo("no events: nothing to verify")
    return bad


@audit.command("export")
@click.option("--tenant", default=None, help="The tenant whose events to export (default: every tenant).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="With --tenant: the file to write (default: standard output). Without --tenant: the new or"
                   " empty directory to write <tenant id>.ndjson for each tenant and index.json into"
                   " (default: ./audit-export-<UTC time>).")
@fail_cleanly
def export(tenant: str | None, out: Path | None) -> None:
    """Stream a tenant's events as NDJSON (a manifest last), or every tenant's, one file each;
    each read is recorded on the exported tenant's trail."""
    from domain.application import CommandContext
    from projections import audit as a

    tenant_id = tenant_option(tenant)
    if tenant_id is None:
        _export_every_tenant(out)
        return
    if out is not None and out.is_dir():
        raise click.BadParameter(f"{out} is a directory (with --tenant, --out names a file)", param_hint="--out")
    with _services() as services:
        with services.read(tenant_id) as conn:
            if not a.tenant_exists(conn, tenant_id):
                raise click.ClickException(f"tenant {tenant_id} has no events")
            after_seq, upto_seq = a.seq_bounds(conn, tenant_id)
        services.app.record_access(CommandContext.system("avm audit export"), str(tenant_id),
                                   action="audit.export", resource="avm audit export",
                                   details={"out": str(out) if out else "-"})
        lines = a.export_lines(partial(services.read, tenant_id), services.decode_event_state, tenant_id,
                               after_seq=after_seq, upto_seq=upto_seq)
        if out is None:
            sys.stdout.flush()
            _write(lines, sys.stdout.buffer)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("wb") as f:
                count = _write(lines, f)
            click.echo(f"exported {count} events of tenant {tenant_id} to {out}", err=True)


def _export_every_tenant(out: Path | None) -> None:
    """One export file per tenant (each verifies on its own) and index.json listing them.

    Each tenant's end is fixed when its turn comes (its head then), like a single export; the
    operator's read is recorded on each tenant's trail after that point (in its next export).
    """
    from datetime import datetime, timezone

    import msgspec

    from domain.application import CommandContext
    from projections import audit as a

    started = datetime.now(timezone.utc)
    directory = out or Path(f"audit-export-{started:%Y%m%dT%H%M%SZ}")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise click.BadParameter(f"{directory} is not a new or empty directory", param_hint="--out")
    system_tenant = UUID(int=0)
    entries: list[dict[str, Any]] = []
    with _services() as services:
        with services.read(scope="system") as conn:
            heads = a.list_tenant_heads(conn)
        directory.mkdir(parents=True, exist_ok=True)
        for head in heads:
            tenant_id = head["tenant_id"]
            with services.read(tenant_id) as conn:
                after_seq, upto_seq = a.seq_bounds(conn, tenant_id)
            if tenant_id != system_tenant:  # the nil tenant is no one's trail (library test suites only)
                services.app.record_access(CommandContext.system("avm audit export"), str(tenant_id),
                                           action="audit.export", resource="avm audit export",
                                           details={"out": str(directory)})
            lines = a.export_lines(partial(services.read, tenant_id), services.decode_event_state, tenant_id,
                                   after_seq=after_seq, upto_seq=upto_seq)
            name = f"{tenant_id}.ndjson"
            manifest: dict[str, Any] = {}
            with (directory / name).open("wb") as f:
                count = _write(lines, f, manifest)
            entries.append({"tenant_id": str(tenant_id), "file": name, "count": count,
                            "last_seq": manifest.get("last_seq"), "head_hash": manifest.get("head_hash")})
        index = {"format": INDEX_FORMAT, "exported_at": started.isoformat().replace("+00:00", "Z"),
                 "tenants": entries}
        (directory / INDEX).write_bytes(msgspec.json.format(msgspec.json.encode(index)) + b"\n")
    total = sum(e["count"] for e in entries)
    tenants = f"{len(entries)} tenant{'' if len(entries) == 1 else 's'}"
    click.echo(f"exported {total} events of {tenants} to {directory}/ (one file each, {INDEX})")


def _write(chunks: Iterator[bytes], sink: IO[bytes], manifest: dict[str, Any] | None = None) -> int:
    count = -1  # the manifest line is not an event
    chunk = b""
    for chunk in chunks:
        sink.write(chunk)
        count += chunk.count(b"\n")
    sink.flush()
    last = chunk.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if last.startswith(b'{"error"') or not last.startswith(b'{"manifest"'):
        raise click.ClickException("the export was interrupted; the output is incomplete (no manifest)")
    if manifest is not None:
        import msgspec

        manifest.update(msgspec.json.decode(last)["manifest"])
    return count


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the statement (default: <data dir>/checkpoints/<UTC time>.json).")
@fail_cleanly
def checkpoint(out: Path | None) -> None:
    """Sign a statement of every tenant's head (seq, hash) with the Ed25519 key outside the database."""
    from eventstore import checkpoint as cp
    from projections import audit as a

    key_file = cp.key_path()
    key = cp.load_or_create_key(key_file)
    with _services() as services, services.read(scope="system") as conn:
        heads = [cp.Head(str(h["tenant_id"]), h["tenant_seq"], bytes(h["hash"]).hex(),
                         h["recorded_at"].isoformat()) for h in a.list_tenant_heads(conn)]
    path = cp.write(cp.build(heads, key), out)
    click.echo(f"checkpoint of {len(heads)} tenants written to {path}")
    click.echo(f"signed with {key_file} (public key fingerprint {cp.fingerprint(cp.public_bytes(key))});"
               " keep copies of checkpoints and the public key away from the database host")
