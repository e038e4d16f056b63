"""`avm audit …`: verify, export and checkpoint the per-tenant event history."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial, wraps
from pathlib import Path
from typing import IO, Any, TypeVar
from uuid import UUID

import click

F = TypeVar("F", bound=Callable[..., Any])


def _fail_cleanly(fn: F) -> F:
    # api.cli imports this module at its end; take its helper when a command runs, not at import.
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from api.cli import fail_cleanly

        return fail_cleanly(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _services() -> Iterator[Any]:
    from api.cli_support import _services as open_services

    services = open_services(migrate=False)
    try:
        yield services
    finally:
        services.close()


def _tenant(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a tenant id (a UUID)", param_hint="--tenant") from None


def _offline_decoder() -> Callable[[bytes], dict[str, Any]]:
    """The application's own payload decoder, built without any database (in-memory persistence)."""
    from domain.application import AvmApplication

    app = AvmApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "n"})
    return app.mapper.transcoder.decode  # type: ignore[no-any-return]


def _line(ok: bool, tenant: str | None, text: str) -> None:
    click.echo(f"{'ok ' if ok else 'BAD'}  {tenant or '?'}  {text}")


@click.group()
def audit() -> None:
    """Verify, export and checkpoint the audit trail."""


@audit.command("verify")
@click.option("--tenant", default=None, help="Only this tenant (default: every tenant).")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Verify an export file offline (no database is used).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Also check a signed checkpoint: every tenant in it must still hold its head.")
@click.option("--public-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="PEM key the checkpoint must be signed by (default: the key at $AVM_CHECKPOINT_KEY).")
@_fail_cleanly
def verify(tenant: str | None, file: Path | None, checkpoint: Path | None, public_key: Path | None) -> None:
    """Recompute hash chains and report the first broken link; exits 1 when any chain is broken."""
    tenant_id = _tenant(tenant)
    signed = _read_checkpoint(checkpoint, public_key) if checkpoint else None
    if file is not None:
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


def _verify_file(path: Path, tenant_id: UUID | None, signed: Any) -> int:
    from eventstore.verify import verify_export
    from projections.audit import shown_fields

    decode = _offline_decoder()
    expect = {t: {h.tenant_seq: h.head_hash} for t, h in signed.heads.items()} if signed else None
    try:
        with click.open_file(str(path), "rb") as f:
            report = verify_export(f, lambda row: shown_fields(row, decode), expect)
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None
    if tenant_id is not None and report.tenant_id != str(tenant_id):
        raise click.ClickException(f"{path} is an export of tenant {report.tenant_id}, not {tenant_id}")
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
@click.option("--tenant", required=True, help="The tenant whose events to export.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (default: standard output).")
@_fail_cleanly
def export(tenant: str, out: Path | None) -> None:
    """Stream one tenant's events as NDJSON (a manifest last); the read is recorded on its trail."""
    from domain.application import CommandContext
    from projections import audit as a

    tenant_id = _tenant(tenant)
    assert tenant_id is not None
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


def _write(chunks: Iterator[bytes], sink: IO[bytes]) -> int:
    count = -1  # the manifest line is not an event
    chunk = b""
    for chunk in chunks:
        sink.write(chunk)
        count += chunk.count(b"\n")
    sink.flush()
    if chunk.startswith(b'{"error"'):
        raise click.ClickException("the export was interrupted; the output is incomplete (no manifest)")
    return count


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the statement (default: <data dir>/checkpoints/<UTC time>.json).")
@_fail_cleanly
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
