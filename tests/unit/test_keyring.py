"""The model keys' keyring: AES-256-GCM sealing bound to tenant and provider, rotation by key id, keyed
fingerprints, and a secret file made once (mode 600) and never silently replaced."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from eventstore.keyring import Keyring, KeyringProblem, Sealed, Unsealable, configured_secret, load_keyring

SECRET = "x" * 32
OTHER_SECRET = "y" * 40
KEY = "sk-test-0123456789abcdefghijklmnopqrstuv"
A, B = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def test_a_sealed_key_opens_back_to_the_clear_key_and_the_ciphertext_does_not_hold_it() -> None:
    ring = Keyring.from_text(SECRET)
    sealed = ring.seal(KEY, tenant_id=A, provider="openai")

    assert KEY.encode() not in sealed.ciphertext and KEY[-8:].encode() not in sealed.ciphertext
    assert len(sealed.nonce) == 12 and sealed.key_id == ring.primary_id
    assert ring.open(sealed, tenant_id=A, provider="openai") == KEY
    assert ring.seal(KEY, tenant_id=A, provider="openai").ciphertext != sealed.ciphertext  # a fresh nonce each time


@pytest.mark.parametrize("tenant, provider", [(B, "openai"), (A, "anthropic")])
def test_a_ciphertext_moved_to_another_tenant_or_provider_is_refused(tenant: str, provider: str) -> None:
    ring = Keyring.from_text(SECRET)
    sealed = ring.seal(KEY, tenant_id=A, provider="openai")

    with pytest.raises(Unsealable):
        ring.open(sealed, tenant_id=tenant, provider=provider)


def test_an_altered_ciphertext_or_nonce_is_refused() -> None:
    ring = Keyring.from_text(SECRET)
    sealed = ring.seal(KEY, tenant_id=A, provider="gemini")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]

    with pytest.raises(Unsealable):
        ring.open(Sealed(sealed.key_id, sealed.nonce, flipped), tenant_id=A, provider="gemini")
    with pytest.raises(Unsealable):
        ring.open(Sealed(sealed.key_id, bytes(12), sealed.ciphertext), tenant_id=A, provider="gemini")


def test_a_wrong_service_key_opens_nothing() -> None:
    sealed = Keyring.from_text(SECRET).seal(KEY, tenant_id=A, provider="openai")
    wrong = Keyring.from_text(OTHER_SECRET)

    with pytest.raises(Unsealable, match="not configured"):
        wrong.open(sealed, tenant_id=A, provider="openai")
    with pytest.raises(Unsealable):  # even when it claims the sealing key's id
        wrong.open(Sealed(wrong.primary_id, sealed.nonce, sealed.ciphertext), tenant_id=A, provider="openai")


def test_a_rotated_keyring_seals_with_the_new_key_and_still_opens_the_old_ones() -> None:
    old = Keyring.from_text(SECRET)
    sealed = old.seal(KEY, tenant_id=A, provider="openai")
    rotated = Keyring.from_text(f"{OTHER_SECRET}\n{SECRET}")

    assert rotated.primary_id != old.primary_id and rotated.key_ids == {old.primary_id, rotated.primary_id}
    assert rotated.open(sealed, tenant_id=A, provider="openai") == KEY
    assert rotated.seal(KEY, tenant_id=A, provider="openai").key_id == rotated.primary_id


def test_fingerprints_are_keyed_per_tenant_and_provider_and_tell_keys_apart() -> None:
    ring = Keyring.from_text(SECRET)
    fp = ring.fingerprint(KEY, tenant_id=A, provider="openai")

    assert len(fp) == 32 and int(fp, 16) >= 0
    assert fp == ring.fingerprint(KEY, tenant_id=A, provider="openai")
    assert fp != ring.fingerprint(KEY + "x", tenant_id=A, provider="openai")
    assert fp != ring.fingerprint(KEY, tenant_id=B, provider="openai")
    assert fp != Keyring.from_text(OTHER_SECRET).fingerprint(KEY, tenant_id=A, provider="openai")


@pytest.mark.parametrize("text", ["", "short", "x" * 31, f"{SECRET} tooshort"])
def test_a_secret_shorter_than_32_bytes_is_refused(text: str) -> None:
    with pytest.raises(KeyringProblem):
        Keyring.from_text(text)


def test_the_secret_comes_from_the_variable_or_its_file_never_both(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET + "\n")

    assert configured_secret({}) is None
    assert configured_secret({"AVM_MODEL_KEYS_SECRET": SECRET}) == SECRET
    assert configured_secret({"AVM_MODEL_KEYS_SECRET_FILE": str(tmp_path / "s")}).strip() == SECRET
    with pytest.raises(KeyringProblem, match="not both"):
        configured_secret({"AVM_MODEL_KEYS_SECRET": SECRET, "AVM_MODEL_KEYS_SECRET_FILE": str(tmp_path / "s")})
    with pytest.raises(KeyringProblem, match="cannot read"):
        configured_secret({"AVM_MODEL_KEYS_SECRET_FILE": str(tmp_path / "missing")})


def test_without_configuration_a_secret_file_is_made_once_with_mode_600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "model_keys.secret"
    first = load_keyring(None, in_use=lambda: 0, path=path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["model_keys.secret"]  # no temporary file left
    sealed = first.seal(KEY, tenant_id=A, provider="openai")
    again = load_keyring(None, in_use=lambda: 1, path=path)
    assert again.open(sealed, tenant_id=A, provider="openai") == KEY


def test_a_lost_secret_file_is_an_error_while_keys_are_stored_never_a_new_secret(tmp_path: Path) -> None:
    path = tmp_path / "model_keys.secret"

    with pytest.raises(KeyringProblem, match="never regenerated"):
        load_keyring(None, in_use=lambda: 3, path=path)
    assert not path.exists()


def test_a_configured_secret_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model_keys.secret"
    ring = load_keyring(SECRET, in_use=lambda: 0, path=path)

    assert ring.primary_id == Keyring.from_text(SECRET).primary_id and not path.exists()
