"""Where media bytes live: one small interface (MediaStore) and its local-directory implementation.

A job's outputs are written here by the upload route and read back by the download route; nothing
else touches bytes. The default store is a directory under the data dir (zero configuration); an
object store (S3-compatible) is another implementation of the same four methods, chosen in
`media_store()` (issue 14, item 4). Keys are `<tenant>/<job>/<upload>`: the download route serves
only keys under the caller's tenant, whatever URI an asset names.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import UUID

from domain.assets import OUTPUT_MAX_BYTES

LOCAL_SCHEME = "local://"
_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}/[0-9a-f-]{36}$")
CHUNK = 1024 * 1024


def output_limits() -> dict[str, int]:
    """The generated-media size limits, bytes per type: AVM_MAX_IMAGE_BYTES, AVM_MAX_AUDIO_BYTES,
    AVM_MAX_VIDEO_BYTES (defaults in domain.assets.OUTPUT_MAX_BYTES); read once per app."""
    limits = {}
    for kind, default in OUTPUT_MAX_BYTES.items():
        raw = os.environ.get(f"AVM_MAX_{kind.upper()}_BYTES")
        value = int(raw) if raw else default
        if value < 1:
            raise ValueError(f"AVM_MAX_{kind.upper()}_BYTES must be a positive number of bytes")
        limits[kind] = value
    return limits


def media_key(tenant_id: UUID | str, job_id: UUID | str, upload_id: UUID | str) -> str:
    return f"{tenant_id}/{job_id}/{upload_id}"


def key_of(uri: str) -> str | None:
    """The store key a URI of this store names, or None (another store's URI, or not a key)."""
    if not uri.startswith(LOCAL_SCHEME):
        return None
    key = uri[len(LOCAL_SCHEME):]
    return key if _KEY.match(key) else None


@dataclass
class Stored:
    uri: str
    size_bytes: int
    checksum: str  # sha256:<hex>


class Writer(Protocol):
    def write(self, chunk: bytes) -> None: ...
    def commit(self) -> Stored: ...
    def abort(self) -> None: ...


class MediaStore(Protocol):
    """Bytes by key: write once (atomically, measured and hashed), open, delete."""

    def writer(self, key: str) -> Writer: ...
    def open(self, key: str) -> Iterator[bytes] | None: ...
    def size(self, key: str) -> int | None: ...
    def delete(self, key: str) -> None: ...


class _LocalWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit or abort
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.hash.update(chunk)
        self.size += len(chunk)

    def commit(self) -> Stored:
        self.file.close()
        os.replace(self.tmp, self.path)  # readers see all of the bytes or none
        key = "/".join(self.path.parts[-3:])
        return Stored(uri=LOCAL_SCHEME + key, size_bytes=self.size, checksum="sha256:" + self.hash.hexdigest())

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


class LocalMediaStore:
    """A directory (AVM_MEDIA_DIR, default `<data dir>/media`): one file per key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("not a media key")
        return self.root / key

    def writer(self, key: str) -> Writer:
        return _LocalWriter(self._path(key))

    def open(self, key: str) -> Iterator[bytes] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return _chunks(path)

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def media_store() -> MediaStore:
    """The configured store (today: the local directory)."""
    from eventstore.database import data_dir

    configured = os.environ.get("AVM_MEDIA_DIR")
    return LocalMediaStore(Path(configured).expanduser().resolve() if configured else data_dir() / "media")
