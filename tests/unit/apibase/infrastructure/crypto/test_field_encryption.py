"""Field encryption: round trip, binding to field and record, key rotation, tamper detection (Hypothesis)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apibase.infrastructure.crypto import DecryptionFailed, EncryptionKey, FieldEncryptor, KeyRing, reencrypt_all

pytestmark = pytest.mark.unit

OLD = EncryptionKey("k2024", bytes(range(32)))
NEW = EncryptionKey("k2025", bytes(range(1, 33)))
ENC = FieldEncryptor(KeyRing([OLD, NEW]))
OLD_ONLY = FieldEncryptor(KeyRing([OLD]))

texts = st.text(max_size=200)
names = st.text(min_size=1, max_size=30)


@given(plaintext=texts, field=names, record_id=names)
def test_round_trip(plaintext: str, field: str, record_id: str) -> None:
    token = ENC.encrypt(plaintext, field=field, record_id=record_id)
    assert token.startswith("v1.k2025.")
    assert ENC.decrypt(token, field=field, record_id=record_id) == plaintext


@given(plaintext=texts, position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_changed_character_is_detected(plaintext: str, position: int, replacement: str) -> None:
    token = ENC.encrypt(plaintext, field="email", record_id="1")
    index = position % len(token)
    tampered = token[:index] + replacement + token[index + 1 :]
    if tampered == token:
        return
    with pytest.raises(DecryptionFailed):
        ENC.decrypt(tampered, field="email", record_id="1")


@given(plaintext=texts, bit=st.integers(min_value=0))
def test_any_flipped_ciphertext_bit_is_detected(plaintext: str, bit: int) -> None:
    version, kid, nonce, body = ENC.encrypt(plaintext, field="f", record_id="r").split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[(bit // 8) % len(raw)] ^= 1 << (bit % 8)
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(DecryptionFailed, match="fails authentication"):
        ENC.decrypt(f"{version}.{kid}.{nonce}.{flipped}", field="f", record_id="r")


@given(plaintext=texts)
def test_ciphertexts_cannot_move_between_fields_or_rows(plaintext: str) -> None:
    token = ENC.encrypt(plaintext, field="email", record_id="1")
    for field, record_id in [("phone", "1"), ("email", "2"), ("emai", "l1")]:
        with pytest.raises(DecryptionFailed):
            ENC.decrypt(token, field=field, record_id=record_id)


def test_nonces_are_fresh() -> None:
    assert ENC.encrypt("x", field="f", record_id="r") != ENC.encrypt("x", field="f", record_id="r")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1.k2025.AAAA",
        "v2.k2025.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
        "v1.bad kid.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
        "v1.k2025.AAAA.AAAAAAAAAAAAAAAAAAAAAA",  # short nonce
        "v1.k2025.AAAAAAAAAAAAAAAA.AAAA",  # shorter than a tag
        "v1.k2025.AAAAAAAAAAAAAAAA.A",  # impossible base64 length
        "v1.k2025.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAB",  # non-canonical trailing bits
        "v1.k2025.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAA==",  # padding is not part of the format
        "v1.k2025.AAAAAAAAAAAAAAAA.ÄAAAAAAAAAAAAAAAAAAAAA",  # not ASCII
    ],
)
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(DecryptionFailed, match="malformed"):
        ENC.decrypt(token, field="f", record_id="r")


def test_unknown_key_is_a_typed_error_without_secrets() -> None:
    token = ENC.encrypt("card 4111", field="pan", record_id="7")
    with pytest.raises(DecryptionFailed, match="'k2025' is not in the key ring") as caught:
        OLD_ONLY.decrypt(token, field="pan", record_id="7")
    assert "4111" not in str(caught.value)
    assert caught.value.status == 500


def test_old_data_stays_readable_and_is_rotated() -> None:
    old_token = OLD_ONLY.encrypt("secret", field="f", record_id="r")
    assert ENC.needs_reencryption(old_token)
    new_token = ENC.reencrypt(old_token, field="f", record_id="r")
    assert new_token.startswith("v1.k2025.")
    assert not ENC.needs_reencryption(new_token)
    assert ENC.reencrypt(new_token, field="f", record_id="r") == new_token
    assert ENC.decrypt(new_token, field="f", record_id="r") == "secret"
    assert ENC.decrypt(old_token, field="f", record_id="r") == "secret"


def test_reencrypt_all_yields_only_rows_on_old_keys() -> None:
    rows: list[dict[str, str | None]] = [
        {"id": "1", "ssn": OLD_ONLY.encrypt("a", field="ssn", record_id="1")},
        {"id": "2", "ssn": ENC.encrypt("b", field="ssn", record_id="2")},
        {"id": "3", "ssn": None},
        {"id": "4", "ssn": OLD_ONLY.encrypt("d", field="ssn", record_id="4")},
    ]
    changed = list(
        reencrypt_all(rows, ENC, field="ssn", token_of=lambda row: row["ssn"], record_id_of=lambda row: str(row["id"]))
    )
    assert [row["id"] for row, _ in changed] == ["1", "4"]
    assert [ENC.decrypt(token, field="ssn", record_id=str(row["id"])) for row, token in changed] == ["a", "d"]


def test_reencrypt_all_stops_on_a_broken_token() -> None:
    rows = [("1", "v1.k2024.broken")]
    with pytest.raises(DecryptionFailed):
        list(reencrypt_all(rows, ENC, field="f", token_of=lambda row: row[1], record_id_of=lambda row: row[0]))


def test_key_ring_rules() -> None:
    with pytest.raises(ValueError, match="at least one"):
        KeyRing([])
    with pytest.raises(ValueError, match="unique"):
        KeyRing([OLD, OLD])
    with pytest.raises(ValueError, match="not in the ring"):
        KeyRing([OLD], primary="nope")
    ring = KeyRing([OLD, NEW], primary="k2024")
    assert ring.primary_kid == "k2024"
    assert ring.kids == ("k2024", "k2025")
    assert FieldEncryptor(ring).ring is ring


def test_keys_validate_and_hide_their_bytes() -> None:
    with pytest.raises(ValueError, match="key id"):
        EncryptionKey("a.b", bytes(32))
    with pytest.raises(ValueError, match="16, 24 or 32"):
        EncryptionKey("a", bytes(10))
    key = EncryptionKey.generate("gen")
    assert len(key.secret) == 32
    assert key.secret.hex() not in repr(key)
    assert repr(key.secret) not in repr(FieldEncryptor(KeyRing([key])))
    encoded = base64.urlsafe_b64encode(key.secret).rstrip(b"=").decode()
    assert EncryptionKey.from_base64("gen", encoded) == key
    assert EncryptionKey.from_base64("gen", base64.b64encode(key.secret).decode()) == key
    with pytest.raises(ValueError, match="not valid base64"):
        EncryptionKey.from_base64("gen", "a")
