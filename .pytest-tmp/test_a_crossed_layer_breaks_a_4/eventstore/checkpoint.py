"""Signed checkpoints: every tenant's chain head, signed with an Ed25519 key kept outside the database."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from eventstore.database import data_dir

KEY_ENV = "AVM_CHECKPOINT_KEY"
SECRETS_ENV = "AVM_SECRETS_DIR"
FORMAT = "avm-audit-checkpoint/1"


class CheckpointProblem(Exception):
    """Raised when a checkpoint is unreadable, altered, or signed by a key that is not the trusted one."""


def secrets_dir() -> Path:
    """Where secrets are kept: $AVM_SECRETS_DIR (a volume of its own in docker-compose.yml), else the data dir."""
    configured = os.environ.get(SECRETS_ENV)
    return Path(configured).expanduser().resolve() if configured else data_dir()


def key_path() -> Path:
    """Where the signing key lives: $AVM_CHECKPOINT_KEY (e.g. a mounted secret), else
    <secrets dir>/checkpoint_ed25519.pem."""
    configured = os.environ.get(KEY_ENV)
    return Path(configured).expanduser().resolve() if configured else secrets_dir() / "checkpoint_ed25519.pem"


def checkpoints_dir() -> Path:
    return data_dir() / "checkpoints"


def load_or_create_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The signing key; generated (PEM, mode 600) on first use only: once checkpoints have been
    signed, a missing key is an error (a new one would silently stop last week's checkpoints from
    verifying against the trusted key)."""
    path = path or key_path()
    if not path.exists():
        signed = sorted(checkpoints_dir().glob("*.json")) if checkpoints_dir().is_dir() else []
        if signed:
            raise CheckpointProblem(
                f"the signing key {path} is missing but {len(signed)} checkpoint(s) were signed"
                f" (in {checkpoints_dir()}): restore the key (AVM_CHECKPOINT_KEY or AVM_SECRETS_DIR);"
                " it is never regenerated silently")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return key
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointProblem(f"{path} is not an Ed25519 private key")
    return key


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def trusted_public_key(path: Path | None = None) -> bytes | None:
    """The raw public key to trust: from a PEM file (private or public key), or None when there is none."""
    path = path or key_path()
    if not path.exists():
        return None
    pem = path.read_bytes()
    try:
        key: Any = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError:
            raise CheckpointProblem(f"{path} holds no PEM key") from None
    if not isinstance(key, (Ed25519PrivateKey, Ed25519PublicKey)):
        raise CheckpointProblem(f"{path} is not an Ed25519 key")
    return public_bytes(key)


def public_pem(public: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(public).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Head:
    """A tenant's chain head at checkpoint time."""

    tenant_id: str
    tenant_seq: int
    head_hash: str
    recorded_at: str | None = None


def canonical(statement: Mapping[str, Any]) -> bytes:
    """The exact bytes signed: sorted keys, no spaces, ASCII (the statement holds only ints and strings)."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def build(heads: Iterable[Head], key: Ed25519PrivateKey, *, now: datetime | None = None) -> dict[str, Any]:
    """A signed statement of these heads; the public key is part of what is signed."""
    statement = {
        "format": FORMAT,
        "created_at": (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "public_key": base64.b64encode(public_bytes(key)).decode("ascii"),
        "tenants": [{"tenant_id": h.tenant_id, "tenant_seq": h.tenant_seq, "head_hash": h.head_hash,
                     "recorded_at": h.recorded_at} for h in heads],
    }
    return {"statement": statement, "signature": base64.b64encode(key.sign(canonical(statement))).decode("ascii")}


def write(document: Mapping[str, Any], out: Path | None = None) -> Path:
    """Write the statement as JSON: to `out`, or <data dir>/checkpoints/<UTC timestamp>.json."""
    if out is None:
        folder = checkpoints_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = document["statement"]["created_at"].replace("-", "").replace(":", "")
        out = folder / f"{stamp}.json"
        n = 1
        while out.exists():
            out, n = folder / f"{stamp}-{n}.json", n + 1
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature checked out."""

    created_at: datetime
    public_key: bytes
    heads: dict[str, Head]
    key_trusted: bool  # False: signed by its embedded key, which could not be compared with a trusted one


def read(path: Path, trusted: bytes | None) -> Checkpoint:
    """Load a checkpoint and check its signature (and, when a trusted key is known, that it signed it)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        statement = document["statement"]
        signature = base64.b64decode(document["signature"], validate=True)
        public = base64.b64decode(statement["public_key"], validate=True)
        if statement.get("format") != FORMAT:
            raise CheckpointProblem(f"{path}: not a checkpoint ({statement.get('format')!r})")
        created_at = datetime.fromisoformat(statement["created_at"].replace("Z", "+00:00"))
        heads = {str(UUID(t["tenant_id"])): Head(str(UUID(t["tenant_id"])), int(t["tenant_seq"]),
                                                 bytes.fromhex(t["head_hash"]).hex(), t.get("recorded_at"))
                 for t in statement["tenants"]}
        Ed25519PublicKey.from_public_bytes(public).verify(signature, canonical(statement))
    except InvalidSignature:
        raise CheckpointProblem(f"{path}: the signature does not match the statement (forged or altered)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise CheckpointProblem(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    if trusted is not None and public != trusted:
        raise CheckpointProblem(f"{path}: signed by key {fingerprint(public)}, not by the trusted key "
                                f"{fingerprint(trusted)} (forged)")
    return Checkpoint(created_at=created_at, public_key=public, heads=heads, key_trusted=trusted is not None)


@dataclass(frozen=True)
class Finding:
    """How one tenant's chain compares with the checkpoint."""

    tenant_id: str
    ok: bool
    message: str
    tenant_seq: int


def compare(checkpoint: Checkpoint, hash_at: Callable[[UUID, int], bytes | None],
            head_seq: Callable[[UUID], int], tenants: Iterable[str] | None = None) -> list[Finding]:
    """For each tenant in the checkpoint: the chain must still hold its seq with its hash.

    A deleted tail shows as a missing seq; a rewritten chain (rows changed and re-hashed by
    someone who can bypass the triggers) shows as a different hash at that seq.
    """
    wanted = set(tenants) if tenants is not None else None
    findings = []
    for tenant, head in sorted(checkpoint.heads.items()):
        if wanted is not None and tenant not in wanted:
            continue
        actual = hash_at(UUID(tenant), head.tenant_seq)
        if actual is None:
            findings.append(Finding(tenant, False, f"tenant_seq {head.tenant_seq} of the checkpoint is missing "
                                    f"(the chain now ends at tenant_seq {head_seq(UUID(tenant))}): its tail was "
                                    "deleted", head.tenant_seq))
        elif actual.hex() != head.head_hash:
            findings.append(Finding(tenant, False, f"the hash at tenant_seq {head.tenant_seq} differs from the "
                                    "checkpoint: the chain was rewritten", head.tenant_seq))
        else:
            findings.append(Finding(tenant, True, f"holds tenant_seq {head.tenant_seq} with the checkpoint's hash",
                                    head.tenant_seq))
    return findings
