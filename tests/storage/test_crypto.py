from __future__ import annotations

import base64
import dataclasses
import traceback
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.crypto import (
    MASTER_KEY_SIZE,
    NONCE_SIZE,
    DecryptionError,
    MasterKey,
    SecretBox,
    format_master_key,
    generate_master_key,
    parse_master_keys,
)
from storage.repositories.endpoints import ActiveSecret

PLAINTEXT = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROW = {
    "purpose": "endpoint-signing-secret",
    "workspace_id": "ws_alpha",
    "owner_id": "ep_alpha",
    "secret_id": "sec_alpha",
}
OLD = generate_master_key("old")
NEW = generate_master_key("new")
BOX = SecretBox([OLD])
SEALED = BOX.seal(PLAINTEXT, **ROW)


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _encodings(key: bytes) -> list[str]:
    """Every way key material could show up in text."""
    return [
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        base64.b64encode(key).decode().rstrip("="),
        key.hex(),
        repr(key)[2:-1],
    ]


# --- sealing and opening ---------------------------------------------------------------------


def test_a_sealed_secret_opens_to_its_plaintext_under_the_current_key() -> None:
    sealed = BOX.seal(PLAINTEXT, **ROW)
    assert sealed.key_id == "old" == BOX.current_key_id
    assert len(sealed.nonce) == NONCE_SIZE
    assert PLAINTEXT.encode() not in sealed.ciphertext
    assert BOX.open(sealed, **ROW) == PLAINTEXT


def test_the_empty_string_and_unicode_round_trip() -> None:
    for plaintext in ("", "ünïcødé ✓ whsec_"):
        assert BOX.open(BOX.seal(plaintext, **ROW), **ROW) == plaintext


@pytest.mark.parametrize("field", ["workspace_id", "owner_id", "secret_id", "purpose"])
def test_a_secret_does_not_open_for_another_row(field: str) -> None:
    other = {**ROW, field: ROW[field] + "_other"}
    with pytest.raises(DecryptionError, match="does not decrypt for this row"):
        BOX.open(SEALED, **other)


@settings(max_examples=200)
@given(bit=st.integers(min_value=0, max_value=len(SEALED.ciphertext) * 8 - 1))
def test_flipping_any_bit_of_the_ciphertext_makes_it_fail_to_open(bit: int) -> None:
    tampered = dataclasses.replace(SEALED, ciphertext=_flip(SEALED.ciphertext, bit))
    with pytest.raises(DecryptionError, match="tampered"):
        BOX.open(tampered, **ROW)


def test_flipping_any_bit_of_the_nonce_makes_it_fail_to_open() -> None:
    for bit in range(NONCE_SIZE * 8):
        tampered = dataclasses.replace(SEALED, nonce=_flip(SEALED.nonce, bit))
        with pytest.raises(DecryptionError):
            BOX.open(tampered, **ROW)


@pytest.mark.parametrize(
    "ciphertext",
    [b"", SEALED.ciphertext[:-1], SEALED.ciphertext[:15], SEALED.ciphertext + b"\x00"],
    ids=["empty", "one-byte-short", "shorter-than-the-tag", "one-byte-long"],
)
def test_a_truncated_or_extended_ciphertext_fails_to_open(ciphertext: bytes) -> None:
    with pytest.raises(DecryptionError):
        BOX.open(dataclasses.replace(SEALED, ciphertext=ciphertext), **ROW)


def test_a_secret_sealed_under_an_unknown_key_id_fails_with_a_clear_message() -> None:
    sealed_elsewhere = SecretBox([generate_master_key("gone")]).seal(PLAINTEXT, **ROW)
    with pytest.raises(DecryptionError) as caught:
        BOX.open(sealed_elsewhere, **ROW)
    message = str(caught.value)
    assert "'gone'" in message
    assert "TRAAACTION_KEYS" in message
    assert ROW["secret_id"] in message


def test_a_key_of_the_same_id_but_other_material_does_not_open_the_secret() -> None:
    impostor = SecretBox([generate_master_key("old")])
    with pytest.raises(DecryptionError):
        impostor.open(SEALED, **ROW)


def test_two_seals_of_the_same_plaintext_use_different_nonces() -> None:
    first = BOX.seal(PLAINTEXT, **ROW)
    second = BOX.seal(PLAINTEXT, **ROW)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_associated_data_parts_containing_the_separator_are_refused() -> None:
    with pytest.raises(ValueError, match="no '\\|'"):
        BOX.seal(PLAINTEXT, **{**ROW, "owner_id": "ep_a|sec_b"})
    with pytest.raises(ValueError, match="non-empty"):
        BOX.seal(PLAINTEXT, **{**ROW, "secret_id": ""})


def test_a_box_needs_at_least_one_key() -> None:
    with pytest.raises(ValueError, match="at least one master key"):
        SecretBox([])


# --- rotation --------------------------------------------------------------------------------


def test_a_box_with_a_new_and_an_old_key_opens_data_sealed_under_the_old_one() -> None:
    rotated = SecretBox([NEW, OLD])
    assert rotated.current_key_id == "new"
    assert rotated.open(SEALED, **ROW) == PLAINTEXT
    assert rotated.seal(PLAINTEXT, **ROW).key_id == "new"


def test_reseal_moves_a_secret_to_the_new_key_which_opens_it_once_the_old_key_is_gone() -> None:
    resealed = SecretBox([NEW, OLD]).reseal(SEALED, **ROW)
    assert resealed.key_id == "new"
    assert resealed.nonce != SEALED.nonce
    new_only = SecretBox([NEW])
    assert new_only.open(resealed, **ROW) == PLAINTEXT
    with pytest.raises(DecryptionError, match="not in TRAAACTION_KEYS"):
        new_only.open(SEALED, **ROW)


def test_reseal_refuses_a_secret_that_does_not_belong_to_the_row() -> None:
    with pytest.raises(DecryptionError):
        SecretBox([NEW, OLD]).reseal(SEALED, **{**ROW, "workspace_id": "ws_beta"})


# --- nothing shows key material or secrets ----------------------------------------------------


def test_the_repr_of_a_master_key_hides_the_key_material() -> None:
    for text in (
        repr(OLD),
        str(OLD),
        f"{OLD}",
        repr([OLD]),
        repr(parse_master_keys(format_master_key(OLD))),
    ):
        assert "old" in text
        for encoding in _encodings(OLD.key):
            assert encoding not in text


def test_the_repr_of_a_secret_box_hides_every_key() -> None:
    text = repr(SecretBox([NEW, OLD]))
    assert "new" in text
    for key in (NEW, OLD):
        for encoding in _encodings(key.key):
            assert encoding not in text


def test_the_repr_of_an_active_secret_hides_the_secret() -> None:
    active = ActiveSecret("sec_alpha", PLAINTEXT, datetime(2030, 1, 1, tzinfo=UTC))
    for text in (repr(active), str(active), repr([active])):
        assert "sec_alpha" in text
        assert PLAINTEXT not in text
        assert PLAINTEXT[len("whsec_") :] not in text


# --- TRAAACTION_KEYS -------------------------------------------------------------------------

KEY_TEXT = format_master_key(OLD).partition(":")[2]
OTHER_KEY_TEXT = format_master_key(NEW).partition(":")[2]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(f"k1:{KEY_TEXT[:-2]}", "not valid base64", id="bad-base64"),
        pytest.param(f"k1:{KEY_TEXT[:22]}", "must decode to 32 bytes, got 16", id="short"),
        pytest.param(f"k1:{KEY_TEXT}{KEY_TEXT}", "must decode to 32 bytes", id="long"),
        pytest.param(f"k1:{KEY_TEXT},k1:{OTHER_KEY_TEXT}", "appears twice", id="duplicate-id"),
        pytest.param(f"bad id!:{KEY_TEXT}", "key id must be", id="bad-id"),
        pytest.param(f"{'k' * 33}:{KEY_TEXT}", "key id must be", id="id-too-long"),
        pytest.param(f":{KEY_TEXT}", "key id must be", id="empty-id"),
        pytest.param(f"k1\n:{KEY_TEXT}", "key id must be", id="id-with-newline"),
        pytest.param(KEY_TEXT, "not of the form", id="no-id"),
        pytest.param(f"{KEY_TEXT}:k1", "key id must be", id="swapped"),
        pytest.param("", "no key given", id="empty"),
        pytest.param(" , ,", "no key given", id="only-commas"),
    ],
)
def test_malformed_master_keys_are_refused_without_showing_the_key_text(
    value: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_master_keys(value)
    shown = "".join(traceback.format_exception(caught.value))
    for key_text in (KEY_TEXT, OTHER_KEY_TEXT, KEY_TEXT[:22], KEY_TEXT[:-2]):
        assert key_text not in shown


def test_several_master_keys_parse_in_order_with_the_first_one_current() -> None:
    value = f" {format_master_key(NEW)} , {format_master_key(OLD)},"
    assert parse_master_keys(value) == (NEW, OLD)
    assert SecretBox(parse_master_keys(value)).current_key_id == "new"


def test_padded_and_standard_alphabet_base64_keys_are_accepted() -> None:
    key = MasterKey("std", bytes([0xFB, 0xFF]) * 16)
    padded = base64.urlsafe_b64encode(key.key).decode()
    standard = base64.b64encode(key.key).decode()
    assert padded.endswith("=")
    assert "+" in standard
    assert "/" in standard
    assert parse_master_keys(f"std:{padded}") == (key,)
    assert parse_master_keys(f"std:{standard}") == (key,)


def test_a_generated_master_key_is_random_with_a_short_id_by_default() -> None:
    first, second = generate_master_key(), generate_master_key()
    assert len(first.key) == MASTER_KEY_SIZE
    assert first.key != second.key
    assert first.key_id != second.key_id
    assert first.key_id.startswith("k")
    assert len(first.key_id) == 9


@pytest.mark.parametrize("key_id", ["has space", "k" * 33, "k1\n", "a:b", "a,b", "ключ"])
def test_a_generated_master_key_refuses_a_malformed_id(key_id: str) -> None:
    with pytest.raises(ValueError, match="key id must be"):
        generate_master_key(key_id)


@settings(max_examples=200)
@given(
    key_id=st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True),
    key=st.binary(min_size=MASTER_KEY_SIZE, max_size=MASTER_KEY_SIZE),
)
def test_a_formatted_master_key_parses_back_to_the_same_key(key_id: str, key: bytes) -> None:
    master = MasterKey(key_id, key)
    text = format_master_key(master)
    assert text.startswith(f"{key_id}:")
    assert "=" not in text
    assert parse_master_keys(text) == (master,)
