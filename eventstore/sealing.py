"""Personal fields of events sealed with the tenant's data key (issue 15).

Writing: the recorder hands each batch to `Sealer.seal_events` before the insert (it knows every
event's tenant). For an event whose topic has personal fields (`domain/privacy.py`), each such field
with a value is replaced in the stored JSON by the tagged object

    {"_type_": "avm_sealed", "_data_": "1.<tenant uuid hex>.<kind>.<base64url(nonce | ciphertext)>"}

(AES-256-GCM with the tenant's data key, a random 96-bit nonce, the associated data binding the
tenant and the kind; kind `s` a string, `o` an object, `a` a list, `v` anything else; a list of
strings, e.g. a story's scenes, is sealed element by element so its length stays a fact). Snapshots
(`seal_snapshot`) have their whole aggregate state sealed as one object. The hash chain covers these
stored bytes, so it verifies without any key.

Reading: `SealedTranscoding` is registered on the application's transcoder under `avm_sealed`: it
opens the value with the tenant's key, or, when the key is destroyed (an erased tenant) or missing,
gives the redaction of its kind: `REDACTED` ("[erased]") for a string, `{}` for an object, `[]` for a
list, None otherwise. It never raises for a destroyed key, so history, export, replay and rebuild read
an erased tenant's events as redacted ones. Offline (no database, no key), `Opaque` stands for a
sealed value (`OfflineSealedTranscoding`).
"""
from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import StoredEvent, Transcoding

from eventstore import jsontext
from eventstore.datakeys import DataKeys

TAG = "avm_sealed"
VERSION = "1"
REDACTED = "[erased]"  # what a sealed string reads as once its tenant's data key is destroyed (or absent)
REDACTIONS: dict[str, Any] = {"s": REDACTED, "o": {}, "a": [], "v": None}
NONCE = 12
log = logging.getLogger("avm.sealing")
_decode_json = msgspec.json.Decoder().decode


def associated_data(tenant: UUID, kind: str) -> bytes:
    return b"avm-personal/1\x00" + tenant.bytes + kind.encode("ascii")


def _kind(value: Any) -> str:
    return "s" if type(value) is str else "o" if type(value) is dict else "a" if type(value) is list else "v"


def is_sealed(value: Any) -> bool:
    return type(value) is dict and value.get("_type_") == TAG and len(value) == 2 and "_data_" in value


def seal_value(key: Any, tenant: UUID, value: Any) -> dict[str, str]:
    kind = _kind(value)
    plain = value.encode("utf-8") if kind == "s" else jsontext.dumps(value)
    nonce = secrets.token_bytes(NONCE)
    blob = nonce + key.encrypt(nonce, plain, associated_data(tenant, kind))
    data = ".".join((VERSION, tenant.hex, kind, base64.urlsafe_b64encode(blob).decode("ascii")))
    return {"_type_": TAG, "_data_": data}


class Sealer:
    """Seals the personal fields of events (and snapshots) before they are stored."""

    def __init__(self, keys: DataKeys, personal: Mapping[str, Sequence[str]]) -> None:
        self.keys = keys
        self.personal = {topic: tuple(fields) for topic, fields in personal.items()}

    def seal_events(self, stored: Sequence[StoredEvent], tenants: Mapping[Any, UUID]) -> list[StoredEvent]:
        out = list(stored)
        for i, event in enumerate(stored):
            fields = self.personal.get(event.topic)
            tenant = tenants.get(event.originator_id)
            if fields is None or tenant is None:
                continue
            state = self._sealed_state(event.state, fields, tenant)
            if state is not None:
                out[i] = StoredEvent(originator_id=event.originator_id, originator_version=event.originator_version,
                                     topic=event.topic, state=state)
        return out

    def _sealed_state(self, state: bytes, fields: Sequence[str], tenant: UUID) -> bytes | None:
        obj = jsontext.loads(state)
        if type(obj) is not dict:
            return None
        changed = False
        key = None
        for name in fields:
            value = obj.get(name)
            if value is None or is_sealed(value):
                continue
            key = key or self.keys.for_writing(tenant)  # once per event, and only when there is a value
            if type(value) is list and value and all(type(v) is str for v in value):
                obj[name] = [seal_value(key, tenant, v) for v in value]
            else:
                obj[name] = seal_value(key, tenant, value)
            changed = True
        return jsontext.dumps(obj) if changed else None

    def seal_snapshots(self, stored: Sequence[StoredEvent]) -> list[StoredEvent]:
        """A snapshot's aggregate state, sealed whole with its tenant's key (the tenant is in it)."""
        out = list(stored)
        for i, event in enumerate(stored):
            obj = jsontext.loads(event.state)
            inner = obj.get("state") if type(obj) is dict else None
            tenant_text = inner.get("tenant_id") if type(inner) is dict else None
            try:
                tenant = UUID(tenant_text) if isinstance(tenant_text, str) and tenant_text else None
            except ValueError:
                tenant = None
            if tenant is None:
                continue
            obj["state"] = seal_value(self.keys.for_writing(tenant), tenant, inner)
            out[i] = StoredEvent(originator_id=event.originator_id, originator_version=event.originator_version,
                                 topic=event.topic, state=jsontext.dumps(obj))
        return out


@dataclass(frozen=True)
class _Envelope:
    tenant: UUID
    kind: str
    blob: bytes


def parse(data: Any) -> _Envelope:
    version, tenant, kind, blob = str(data).split(".")
    if version != VERSION or kind not in REDACTIONS:
        raise ValueError("not a sealed value of this version")
    return _Envelope(UUID(hex=tenant), kind, base64.urlsafe_b64decode(blob))


class _SealedValue:
    """A registry key only: the recorder writes the tag itself, no domain value has this type."""


class SealedTranscoding(Transcoding):
    """Opens `avm_sealed` values with the tenant's data key; a destroyed key gives the redaction."""

    type = _SealedValue
    name = TAG
    keyed = True  # the transcoder takes the value as decoded (a fresh nonce never writes it back the same)

    def __init__(self, keys: DataKeys, untag: Callable[[Any], Any] | None = None) -> None:
        self.keys = keys
        self.untag = untag  # the transcoder's own conversion of tagged values nested in an opened object

    def encode(self, obj: Any) -> str:  # pragma: no cover - never called: no value has the type
        raise TypeError("sealed values are written by the recorder")

    def decode(self, data: Any) -> Any:
        envelope = parse(data)
        key = self.keys.for_reading(envelope.tenant)
        if key is None:
            return REDACTIONS[envelope.kind]
        try:
            plain = key.decrypt(envelope.blob[:NONCE], envelope.blob[NONCE:],
                                associated_data(envelope.tenant, envelope.kind))
        except InvalidTag:
            raise ValueError("a sealed value that does not open with its tenant's key") from None
        if envelope.kind == "s":
            return plain.decode("utf-8")
        value = jsontext.loads(plain)
        return self.untag(value) if self.untag is not None and type(value) in (dict, list) else value


class Opaque(str):
    """A sealed value read without keys (offline): it stands for whatever the export shows there."""

    __slots__ = ()


class OfflineSealedTranscoding(SealedTranscoding):
    def __init__(self) -> None:
        super().__init__(keys=None)  # type: ignore[arg-type]

    def decode(self, data: Any) -> Any:
        parse(data)
        return Opaque(str(data))


def register(transcoder: Any, keys: DataKeys | None) -> None:
    """Register the sealed values' transcoding on a transcoder (offline when there are no keys)."""
    transcoding = OfflineSealedTranscoding() if keys is None else SealedTranscoding(keys, getattr(
        transcoder, "_tagged", None))
    transcoder.register(transcoding)


def plaintext_personal(topic_fields: Sequence[str] | None, state: bytes) -> bool:
    """Whether a stored event has a personal field written in clear (stored before sealing existed)."""
    if not topic_fields:
        return False
    try:
        obj = _decode_json(state)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        obj = jsontext.loads(state)
    if type(obj) is not dict:
        return False
    for name in topic_fields:
        value = obj.get(name)
        if value is None or is_sealed(value):
            continue
        if type(value) is list and value and all(is_sealed(v) for v in value):
            continue
        if value == [] or value == "":
            continue
        return True
    return False
