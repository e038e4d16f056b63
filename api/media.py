"""Where media bytes live: an object store addressed by URI, through obstore (a well-kept client for
local directories, S3 and S3-compatible stores such as R2 and MinIO, and GCS).

A job's outputs are written here by the upload route, read back by the download route and removed by
the expiry and orphan-bytes sweeps (api/media_sweep.py); nothing else touches bytes. With no
configuration the store is a directory under the data dir (`AVM_MEDIA_DIR`, default
`<data dir>/media`) and its URIs are `local://<key>`; with `AVM_MEDIA_URL=s3://bucket/prefix` (or
`gs://…`) new bytes go there and their URIs are `s3://bucket/prefix/<key>`. The local directory is
always read too, so assets stored before a switch keep their bytes (docs/decisions/i14-store.md).
Keys are `<tenant>/<job>/<upload>`: the download route serves only keys under the caller's tenant,
whatever URI an asset names.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import obstore
from obstore.store import GCSStore, LocalStore, S3Store

from domain.assets import OUTPUT_MAX_BYTES

log = logging.getLogger("avm.media")
LOCAL_SCHEME = "local://"
UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_KEY = re.compile(rf"^{UUID_RE}/{UUID_RE}/{UUID_RE}$")
# What the service itself writes under a store's root: a key, or the temporary file the store
# before obstore left behind when a process died mid-upload. Nothing else is ever listed as ours.
_OURS = re.compile(rf"^{UUID_RE}/{UUID_RE}/{UUID_RE}(\.partial)?$")
CHUNK = 1024 * 1024  # what a download yields at a time
PART = 8 * 1024 * 1024  # an upload is buffered up to one part, then sent as a multipart upload
PARTS_IN_FLIGHT = 2  # so an upload holds at most ~3 parts in memory, whatever its size
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
_PREFIX = re.compile(r"^[A-Za-z0-9._/-]{0,512}$")


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


def media_key(tenant_id: Any, job_id: Any, upload_id: Any) -> str:
    return f"{tenant_id}/{job_id}/{upload_id}"


@dataclass
class Stored:
    uri: str
    size_bytes: int
    checksum: str  # sha256:<hex>


@dataclass
class Opened:
    size: int
    chunks: Iterator[bytes]


@dataclass
class Listed:
    """One object the service wrote, as a listing shows it."""

    uri: str
    key: str
    last_modified: datetime
    size: int


class Writer:
    """Bytes streamed into one key: measured and hashed on the way, visible only once committed
    (a multipart upload completes atomically; the local store renames a staging file)."""

    def __init__(self, location: Location, key: str) -> None:
        self.location, self.key = location, key
        self.file = obstore.open_writer(location.store, key, buffer_size=PART, max_concurrency=PARTS_IN_FLIGHT)
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.hash.update(chunk)
        self.size += len(chunk)

    def commit(self) -> Stored:
        self.file.close()
        return Stored(uri=self.location.uri(self.key), size_bytes=self.size,
                      checksum="sha256:" + self.hash.hexdigest())

    def abort(self) -> None:
        """Give up (never raises): the writer has no abort, so finish what was sent and delete it;
        what cannot be deleted now (the store is down) is no asset's: the orphan-bytes sweep removes it."""
        try:
            if not self.file.closed():
                self.file.close()
        except Exception as exc:  # noqa: BLE001 - nothing was committed, or the sweep removes it
            log.warning("abandoned upload %s: %s", self.key, exc)
        discard(self.location, self.key)


class Location:
    """One obstore store and the URI prefix that names its objects (`local://`, `s3://bucket/prefix/`)."""

    def __init__(self, store: Any, base: str) -> None:
        self.store, self.base = store, base

    def __repr__(self) -> str:
        return f"Location({self.base!r})"

    def uri(self, key: str) -> str:
        return self.base + key

    def key_of(self, uri: str) -> str | None:
        """The key a URI names in this location, or None (another store's URI, or not a key)."""
        if not uri.startswith(self.base):
            return None
        key = uri[len(self.base):]
        return key if _KEY.match(key) else None

    def writer(self, key: str) -> Writer:
        if not _KEY.match(key):
            raise ValueError("not a media key")
        return Writer(self, key)

    def open(self, key: str) -> Opened | None:
        """The object's size and its bytes, a chunk at a time (None when there is none)."""
        try:
            result = obstore.get(self.store, key)
        except FileNotFoundError:
            return None
        return Opened(size=int(result.meta["size"]), chunks=(bytes(c) for c in result.stream(min_chunk_size=CHUNK)))

    def size(self, key: str) -> int | None:
        try:
            return int(obstore.head(self.store, key)["size"])
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        """Remove the object; one already gone is fine (deletion is repeated after a failure)."""
        try:
            obstore.delete(self.store, key)
        except FileNotFoundError:
            pass

    def listing(self, batch: int = 1000) -> Iterator[list[Listed]]:
        """Every object the service wrote here, a batch at a time (the store pages its listing)."""
        for page in obstore.list(self.store, chunk_size=batch):
            found = [Listed(uri=self.uri(m["path"]), key=m["path"], last_modified=m["last_modified"],
                            size=int(m["size"])) for m in page if _OURS.match(m["path"])]
            if found:
                yield found


class MediaStore:
    """The configured location (new bytes go there) and every location old assets' URIs may name
    (the local directory, when the configured store is another): reads and deletions follow the URI."""

    def __init__(self, primary: Location, *others: Location) -> None:
        self.primary = primary
        self.locations = (primary, *[o for o in others if o.base != primary.base])

    def writer(self, key: str) -> Writer:
        return self.primary.writer(key)

    def delete(self, key: str) -> None:
        """Discard bytes just written that no asset will name (never raises: see `discard`)."""
        discard(self.primary, key)

    def resolve(self, uri: str) -> tuple[Location, str] | None:
        for location in self.locations:
            key = location.key_of(uri)
            if key is not None:
                return location, key
        return None

    def owns(self, uri: str) -> bool:
        """Whether the URI names a place of this service's stores (a key or not): no client may
        register such a URI as its own asset."""
        return any(uri.startswith(location.base) for location in self.locations)

    def open_uri(self, uri: str, tenant: Any = None) -> Opened | None:
        """The bytes a URI names, when they are in a store of the service (and, given a tenant, stored for it)."""
        found = self.resolve(uri)
        if found is None or (tenant is not None and found[1].split("/")[0] != str(tenant)):
            return None
        return found[0].open(found[1])

    def delete_uri(self, uri: str) -> bool:
        """Remove the bytes a URI names; False when it names none of the service's stores."""
        found = self.resolve(uri)
        if found is None:
            return False
        found[0].delete(found[1])
        return True


def discard(location: Location, key: str) -> None:
    """Delete bytes no asset names, now if the store answers; else log it and leave them to the
    orphan-bytes sweep (a request that failed must not fail differently because the store is down)."""
    try:
        location.delete(key)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not delete %s (left to the orphan-bytes sweep): %s", location.uri(key), exc)


# -- configuration ---------------------------------------------------------------------------------
DEFAULT_ORPHAN_GRACE_SECONDS = 3600.0
DEFAULT_DELETED_RETENTION_SECONDS = 7 * 86400.0
MAX_SECONDS = 3650 * 86400.0


def _seconds(name: str, default: float, environ: Mapping[str, str] | None) -> float:
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise ValueError(f"{name} must be a number of seconds (0 to {MAX_SECONDS:.0f}), not {raw!r}")
    return value


def orphan_grace_seconds(environ: Mapping[str, str] | None = None) -> float:
    """How old an object no asset holds must be before the orphan-bytes sweep removes it
    (AVM_MEDIA_ORPHAN_GRACE_SECONDS, default 1 h): an upload is registered just after its commit."""
    return _seconds("AVM_MEDIA_ORPHAN_GRACE_SECONDS", DEFAULT_ORPHAN_GRACE_SECONDS, environ)


def deleted_retention_seconds(environ: Mapping[str, str] | None = None) -> float:
    """How long a deleted asset keeps its bytes, and so can be restored
    (AVM_MEDIA_DELETED_RETENTION_SECONDS, default 7 days)."""
    return _seconds("AVM_MEDIA_DELETED_RETENTION_SECONDS", DEFAULT_DELETED_RETENTION_SECONDS, environ)


def local_dir(environ: Mapping[str, str]) -> Path:
    from eventstore.database import data_dir

    configured = environ.get("AVM_MEDIA_DIR")
    return Path(configured).expanduser().resolve() if configured else data_dir() / "media"


def local_location(root: Path) -> Location:
    root.mkdir(parents=True, exist_ok=True)
    return Location(LocalStore(root), LOCAL_SCHEME)


def _bucket_and_prefix(url: str) -> tuple[str, str, str]:
    scheme, _, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    if not _BUCKET.match(bucket) or not _PREFIX.match(prefix) or ".." in prefix.split("/") or "//" in prefix:
        raise ValueError(f"AVM_MEDIA_URL must be {scheme}://<bucket>[/<prefix>] (a bucket name, a plain path), "
                         f"not {url!r}")
    return scheme, bucket, prefix


def configured_location(environ: Mapping[str, str]) -> Location | None:
    """The object store AVM_MEDIA_URL names (None: the local directory). Settings:
    AVM_MEDIA_ENDPOINT (an S3-compatible endpoint: R2, MinIO…), AVM_MEDIA_REGION,
    AVM_MEDIA_ACCESS_KEY_ID / AVM_MEDIA_SECRET_ACCESS_KEY (else the AWS_* variables, an instance
    profile…, as obstore reads them); for gs:// the GOOGLE_* variables obstore reads."""
    url = environ.get("AVM_MEDIA_URL", "").strip()
    if not url or url.startswith(("local:", "file:")):
        return None
    if url.startswith(("s3://", "r2://")):
        scheme, bucket, prefix = _bucket_and_prefix(url)
        options: dict[str, Any] = {}
        endpoint = environ.get("AVM_MEDIA_ENDPOINT", "").strip()
        if endpoint:
            if not endpoint.startswith(("https://", "http://")):
                raise ValueError(f"AVM_MEDIA_ENDPOINT must be an http(s):// URL, not {endpoint!r}")
            options["endpoint"] = endpoint.rstrip("/")
        for name, setting in (("AVM_MEDIA_REGION", "region"), ("AVM_MEDIA_ACCESS_KEY_ID", "access_key_id"),
                              ("AVM_MEDIA_SECRET_ACCESS_KEY", "secret_access_key")):
            if environ.get(name, "").strip():
                options[setting] = environ[name].strip()
        if url.startswith("r2://"):
            options.setdefault("region", "auto")  # R2's only region; its endpoint is the account's
        client = {"allow_http": True} if endpoint.startswith("http://") else None  # a local MinIO
        store: Any = S3Store(bucket, prefix=prefix or None, client_options=client, **options)
        return Location(store, f"{scheme}://{bucket}/" + (prefix + "/" if prefix else ""))
    if url.startswith("gs://"):
        _, bucket, prefix = _bucket_and_prefix(url)
        return Location(GCSStore(bucket, prefix=prefix or None), f"gs://{bucket}/" + (prefix + "/" if prefix else ""))
    raise ValueError(f"AVM_MEDIA_URL must be an s3://, r2:// or gs:// URL (unset: the local directory), not {url!r}")


def media_store(environ: Mapping[str, str] | None = None) -> MediaStore:
    """The configured store: AVM_MEDIA_URL's object store when set, with the local directory still
    read (old `local://` URIs); else the local directory alone (zero configuration)."""
    environ = os.environ if environ is None else environ
    orphan_grace_seconds(environ), deleted_retention_seconds(environ)  # a bad setting stops the start, not a later sweep
    configured, root = configured_location(environ), local_dir(environ)
    if configured is None:
        return MediaStore(local_location(root))
    # With a bucket, the local directory is read only if it exists (there are no old bytes otherwise).
    return MediaStore(configured, local_location(root)) if root.is_dir() else MediaStore(configured)
