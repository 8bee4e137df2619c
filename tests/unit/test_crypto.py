"""Properties of every envelope and every human-held secret in intake/crypto.py.

What a user or an attacker would notice: an answer comes back exactly as it was written; a
changed, cut, moved or re-labelled envelope never opens (it raises, it never hands back data);
a return code typed on an Arabic or Persian keyboard, or pasted from right-to-left text, still
finds the person's answers; and a code of the wrong length is refused rather than guessed at.
"""

from __future__ import annotations

import re
import struct
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from intake import crypto

CHEAP = crypto.KdfParams(1, 256, 1)
QUICK = hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

HEADER = 1 + 1 + crypto.KEY_ID_SIZE
TAG = 16
# The fewest bytes an envelope of each kind can have (an empty payload).
SMALLEST = {
    "secret-key": HEADER + crypto.NONCE_SIZE + TAG,
    "sealed": HEADER + crypto.HYBRID_ENC_SIZE + TAG,  # version 2: HPKE, ML-KEM-768 + X25519
    "sealed-x25519": HEADER + 32 + crypto.NONCE_SIZE + TAG,  # version 1, still opened
    "secret-wrapped": HEADER + 9 + crypto.SALT_SIZE + crypto.NONCE_SIZE + TAG,
    "code-wrapped": HEADER + crypto.NONCE_SIZE + TAG,
}
KINDS = tuple(SMALLEST)
KIND_BYTE = {
    "secret-key": crypto.KIND_SECRET_KEY,
    "sealed": crypto.KIND_SEALED,
    "sealed-x25519": crypto.KIND_SEALED,
    "secret-wrapped": crypto.KIND_SECRET_WRAPPED,
    "code-wrapped": crypto.KIND_CODE_WRAPPED,
}
VERSIONS = {"sealed": (1, 2), "sealed-x25519": (1, 2)}  # a sealed envelope may be either

ORG = crypto.generate_org_keypair()
OTHER_ORG = crypto.generate_org_keypair()
_LEGACY_PRIVATE = bytes(range(1, 33))
LEGACY_ORG = crypto.OrgKeyPair(_LEGACY_PRIVATE, crypto.public_key_of(_LEGACY_PRIVATE))
DATA_KEY = crypto.new_data_key()
OTHER_KEY = crypto.new_data_key()
SECRET = "4827193055612204"
OTHER_SECRET = "4827193055612205"
CODE = crypto.code_keys(SECRET, bytes(range(32)), CHEAP)

payloads = st.binary(max_size=300)
aads = st.binary(max_size=64)


def make(kind: str, payload: bytes, aad: bytes) -> bytes:
    if kind == "secret-key":
        return crypto.encrypt(DATA_KEY, payload, aad)
    if kind == "sealed":
        return crypto.seal(ORG.public_key, payload, aad)
    if kind == "sealed-x25519":
        return crypto.seal(LEGACY_ORG.public_key, payload, aad)
    if kind == "code-wrapped":
        return crypto.wrap_with_code_key(CODE.wrapping, payload, aad, crypto.key_id(DATA_KEY))
    return crypto.wrap_with_secret(SECRET, payload, aad, CHEAP, crypto.key_id(DATA_KEY))


def open_(kind: str, envelope: bytes, aad: bytes) -> bytes:
    """Open with the right key: whatever fails here fails for the rightful owner too."""
    if kind == "secret-key":
        return crypto.decrypt(DATA_KEY, envelope, aad)
    if kind == "sealed":
        return crypto.unseal(ORG.private_key, envelope, aad)
    if kind == "sealed-x25519":
        return crypto.unseal(LEGACY_ORG.private_key, envelope, aad)
    if kind == "code-wrapped":
        return crypto.unwrap_with_code_key(CODE.wrapping, envelope, aad)
    return crypto.unwrap_with_secret(SECRET, envelope, aad)


def affordable(kind: str, envelope: bytes) -> bool:
    """False when a changed cost field would ask Argon2id for more than 128 MiB.

    The envelope's own cost is authenticated, so such a change fails too, but only after the
    key derivation has run; the test skips those few draws to stay quick.
    """
    if kind != "secret-wrapped" or len(envelope) < HEADER + 9:
        return True
    _iterations, memory_kib, _lanes = struct.unpack_from(">IIB", envelope, HEADER)
    return memory_kib <= 1 << 17


# --- round trips ---------------------------------------------------------------------------


@QUICK
@given(key=st.binary(min_size=32, max_size=32), payload=payloads, aad=aads)
def test_encrypt_then_decrypt_gives_back_the_same_bytes(key, payload, aad):
    envelope = crypto.encrypt(key, payload, aad)
    assert crypto.decrypt(key, envelope, aad) == payload


@QUICK
@given(payload=payloads, aad=aads)
def test_seal_then_unseal_with_the_org_private_key_gives_back_the_same_bytes(payload, aad):
    pair = crypto.generate_org_keypair()
    envelope = crypto.seal(pair.public_key, payload, aad)
    assert crypto.unseal(pair.private_key, envelope, aad) == payload


@QUICK
@given(payload=payloads, aad=aads)
def test_a_private_key_read_once_opens_what_the_raw_key_opens_and_nothing_else(payload, aad):
    """A page that opens many envelopes reads the organisation key once: it must open
    exactly what the raw key opens, of either version, and refuse what it refuses."""
    for pair in (ORG, LEGACY_ORG):
        read = crypto.read_private_key(pair.private_key)
        assert read.public_key == pair.public_key
        assert crypto.read_private_key(read) is read
        envelope = crypto.seal(pair.public_key, payload, aad)
        assert crypto.unseal(read, envelope, aad) == crypto.unseal(pair.private_key, envelope, aad)
        with pytest.raises(crypto.CannotOpen):
            crypto.unseal(read, envelope, aad + b"moved")
    other = crypto.read_private_key(OTHER_ORG.private_key)
    with pytest.raises(crypto.WrongKey):
        crypto.unseal(other, crypto.seal(ORG.public_key, payload, aad), aad)
    assert ORG.private_key.hex() not in repr(crypto.read_private_key(ORG.private_key))


def test_a_private_key_that_is_none_is_refused_when_read():
    for raw in (b"", bytes(31), bytes(95), bytes(97)):
        with pytest.raises(crypto.WrongKey):
            crypto.read_private_key(raw)


@QUICK
@given(secret=st.text(max_size=40), payload=payloads, aad=aads)
def test_wrap_then_unwrap_with_the_same_secret_gives_back_the_same_bytes(secret, payload, aad):
    envelope = crypto.wrap_with_secret(secret, payload, aad, CHEAP)
    assert crypto.unwrap_with_secret(secret, envelope, aad) == payload


@pytest.mark.parametrize("kind", KINDS)
def test_the_payload_is_not_readable_inside_the_envelope(kind):
    payload = b"my brother's address is 12 Harbour Road " * 3
    envelope = make(kind, payload, b"aad")
    assert b"Harbour" not in envelope
    assert open_(kind, envelope, b"aad") == payload


def test_the_org_keypair_halves_belong_together():
    pair = crypto.generate_org_keypair()
    # ML-KEM-768 (a 64-byte seed; a 1184-byte public key) beside X25519 (32 and 32 bytes).
    assert len(pair.private_key) == 64 + 32
    assert len(pair.public_key) == 1184 + 32
    assert crypto.is_hybrid(pair.private_key)
    assert crypto.is_hybrid(pair.public_key)
    assert crypto.public_key_of(pair.private_key) == pair.public_key
    assert pair.key_id == crypto.public_key_id(pair.public_key)
    assert crypto.public_key_of(LEGACY_ORG.private_key) == LEGACY_ORG.public_key


# --- anything changed does not open --------------------------------------------------------


@QUICK
@pytest.mark.parametrize("kind", KINDS)
@given(payload=payloads, aad=aads, data=st.data())
def test_a_changed_byte_anywhere_never_opens(kind, payload, aad, data):
    envelope = make(kind, payload, aad)
    index = data.draw(st.integers(0, len(envelope) - 1), label="index")
    flip = data.draw(st.integers(1, 255), label="xor")
    changed = bytearray(envelope)
    changed[index] ^= flip
    changed = bytes(changed)
    assume(affordable(kind, changed))
    with pytest.raises(crypto.CannotOpen):
        open_(kind, changed, aad)


@QUICK
@pytest.mark.parametrize("kind", KINDS)
@given(payload=payloads, aad=aads, extra=st.binary(min_size=1, max_size=20))
def test_bytes_added_at_the_end_never_open(kind, payload, aad, extra):
    with pytest.raises(crypto.CannotOpen):
        open_(kind, make(kind, payload, aad) + extra, aad)


@QUICK
@pytest.mark.parametrize("kind", KINDS)
@given(payload=payloads, aad=aads, data=st.data())
def test_a_truncated_envelope_never_opens(kind, payload, aad, data):
    envelope = make(kind, payload, aad)
    cut = data.draw(st.integers(0, len(envelope) - 1), label="length")
    expected = crypto.DamagedEnvelope if cut < SMALLEST[kind] else crypto.CannotOpen
    with pytest.raises(expected):
        open_(kind, envelope[:cut], aad)


@pytest.mark.parametrize("kind", KINDS)
def test_an_envelope_cut_shorter_than_any_envelope_is_reported_as_damaged(kind):
    envelope = make(kind, b"", b"aad")
    assert len(envelope) == SMALLEST[kind]
    for cut in range(len(envelope)):
        with pytest.raises(crypto.DamagedEnvelope):
            open_(kind, envelope[:cut], b"aad")


@QUICK
@pytest.mark.parametrize("kind", KINDS)
@given(payload=payloads, aad=aads, other=aads)
def test_a_different_aad_never_opens(kind, payload, aad, other):
    assume(aad != other)
    with pytest.raises(crypto.CannotOpen):
        open_(kind, make(kind, payload, aad), other)


@QUICK
@pytest.mark.parametrize("kind", KINDS)
@given(payload=payloads, version=st.integers(0, 255))
def test_an_unknown_version_byte_is_damaged(kind, payload, version):
    assume(version not in VERSIONS.get(kind, (1,)))
    envelope = make(kind, payload, b"aad")
    with pytest.raises(crypto.DamagedEnvelope):
        open_(kind, bytes([version]) + envelope[1:], b"aad")
    with pytest.raises(crypto.DamagedEnvelope):
        crypto.read_header(bytes([version]) + envelope[1:])


@QUICK
@pytest.mark.parametrize("kind", KINDS)
@given(payload=payloads, kind_byte=st.integers(0, 255))
def test_a_changed_kind_byte_is_damaged(kind, payload, kind_byte):
    assume(kind_byte != KIND_BYTE[kind])
    envelope = make(kind, payload, b"aad")
    changed = envelope[:1] + bytes([kind_byte]) + envelope[2:]
    with pytest.raises(crypto.DamagedEnvelope):
        open_(kind, changed, b"aad")


@pytest.mark.parametrize("kind", KINDS)
def test_an_envelope_of_another_kind_is_damaged(kind):
    for other in KINDS:
        if KIND_BYTE[other] != KIND_BYTE[kind]:
            with pytest.raises(crypto.DamagedEnvelope):
                open_(kind, make(other, b"payload", b"aad"), b"aad")


@pytest.mark.parametrize("garbage", [b"", b"\x01", b"not an envelope at all", bytes(80)])
@pytest.mark.parametrize("kind", KINDS)
def test_bytes_that_are_not_an_envelope_are_damaged(kind, garbage):
    with pytest.raises(crypto.DamagedEnvelope):
        open_(kind, garbage, b"aad")


# --- the wrong key -------------------------------------------------------------------------


@QUICK
@given(payload=payloads, aad=aads, other=st.binary(min_size=32, max_size=32))
def test_another_data_key_does_not_open(payload, aad, other):
    assume(other != DATA_KEY)
    envelope = crypto.encrypt(DATA_KEY, payload, aad)
    with pytest.raises(crypto.WrongKey):
        crypto.decrypt(other, envelope, aad)
    # Relabelling the envelope to name the other key does not help: the header is bound in.
    relabelled = envelope[:2] + crypto.key_id(other) + envelope[HEADER:]
    with pytest.raises(crypto.CannotOpen):
        crypto.decrypt(other, relabelled, aad)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_key_of_the_wrong_length_is_refused(length):
    envelope = crypto.encrypt(DATA_KEY, b"payload", b"aad")
    with pytest.raises(crypto.WrongKey):
        crypto.decrypt(bytes(length), envelope, b"aad")
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.encrypt(bytes(length), b"payload", b"aad")


@QUICK
@given(payload=payloads, aad=aads)
def test_another_org_private_key_does_not_unseal(payload, aad):
    envelope = crypto.seal(ORG.public_key, payload, aad)
    with pytest.raises(crypto.WrongKey):
        crypto.unseal(OTHER_ORG.private_key, envelope, aad)
    relabelled = envelope[:2] + OTHER_ORG.key_id + envelope[HEADER:]
    with pytest.raises(crypto.CannotOpen):
        crypto.unseal(OTHER_ORG.private_key, relabelled, aad)


@QUICK
@given(payload=payloads, aad=aads, secret=st.text(max_size=30), other=st.text(max_size=30))
def test_another_secret_does_not_unwrap(payload, aad, secret, other):
    assume(secret != other)
    envelope = crypto.wrap_with_secret(secret, payload, aad, CHEAP)
    with pytest.raises(crypto.CannotOpen):
        crypto.unwrap_with_secret(other, envelope, aad)


def test_a_return_code_one_digit_off_does_not_unwrap():
    envelope = crypto.wrap_with_secret(SECRET, DATA_KEY, b"dek", CHEAP)
    with pytest.raises(crypto.CannotOpen):
        crypto.unwrap_with_secret(OTHER_SECRET, envelope, b"dek")
    assert crypto.unwrap_with_secret(SECRET, envelope, b"dek") == DATA_KEY


# --- fresh randomness and honest headers ---------------------------------------------------


@QUICK
@given(payload=payloads, aad=aads)
def test_two_encryptions_of_the_same_answer_look_different(payload, aad):
    first = crypto.encrypt(DATA_KEY, payload, aad)
    second = crypto.encrypt(DATA_KEY, payload, aad)
    nonce = slice(HEADER, HEADER + crypto.NONCE_SIZE)
    assert first[nonce] != second[nonce]
    assert first[HEADER:] != second[HEADER:]
    assert crypto.decrypt(DATA_KEY, first, aad) == crypto.decrypt(DATA_KEY, second, aad)


def test_two_seals_use_different_ephemeral_keys_and_nonces():
    first = crypto.seal(ORG.public_key, b"same", b"aad")
    second = crypto.seal(ORG.public_key, b"same", b"aad")
    encapsulated = slice(HEADER, HEADER + crypto.HYBRID_ENC_SIZE)
    assert first[encapsulated] != second[encapsulated]
    assert first[encapsulated.stop :] != second[encapsulated.stop :]
    old_first = crypto.seal(LEGACY_ORG.public_key, b"same", b"aad")
    old_second = crypto.seal(LEGACY_ORG.public_key, b"same", b"aad")
    assert old_first[HEADER : HEADER + 32] != old_second[HEADER : HEADER + 32]
    nonce = slice(HEADER + 32, HEADER + 32 + crypto.NONCE_SIZE)
    assert old_first[nonce] != old_second[nonce]


def test_two_wraps_use_different_salts_and_nonces():
    first = crypto.wrap_with_secret(SECRET, b"same", b"aad", CHEAP)
    second = crypto.wrap_with_secret(SECRET, b"same", b"aad", CHEAP)
    salt = slice(HEADER + 9, HEADER + 9 + crypto.SALT_SIZE)
    assert first[salt] != second[salt]
    assert first[salt.stop :] != second[salt.stop :]


def test_headers_name_the_key_that_opens_them():
    assert crypto.read_header(crypto.encrypt(DATA_KEY, b"x", b"")) == (
        crypto.KIND_SECRET_KEY,
        crypto.key_id(DATA_KEY),
    )
    assert crypto.read_header(crypto.seal(ORG.public_key, b"x", b"")) == (
        crypto.KIND_SEALED,
        ORG.key_id,
    )
    wrapped = crypto.wrap_with_secret(SECRET, DATA_KEY, b"", CHEAP, crypto.key_id(DATA_KEY))
    assert crypto.read_header(wrapped) == (crypto.KIND_SECRET_WRAPPED, crypto.key_id(DATA_KEY))
    assert crypto.wrapped_key_id(wrapped) == crypto.key_id(DATA_KEY)
    unnamed = crypto.wrap_with_secret(SECRET, b"not a key", b"", CHEAP)
    assert crypto.wrapped_key_id(unnamed) == bytes(crypto.KEY_ID_SIZE)


def test_the_header_records_the_key_derivation_cost_it_was_made_with():
    params = crypto.KdfParams(2, 512, 2)
    envelope = crypto.wrap_with_secret(SECRET, b"payload", b"aad", params)
    assert struct.unpack_from(">IIB", envelope, HEADER) == (2, 512, 2)
    assert crypto.unwrap_with_secret(SECRET, envelope, b"aad") == b"payload"


@QUICK
@given(first=st.binary(min_size=32, max_size=32), second=st.binary(min_size=32, max_size=32))
def test_key_ids_are_short_stable_and_tell_keys_apart(first, second):
    assert crypto.key_id(first) == crypto.key_id(first)
    assert len(crypto.key_id(first)) == crypto.KEY_ID_SIZE
    assert crypto.key_id(first) not in first
    if first != second:
        assert crypto.key_id(first) != crypto.key_id(second)
    assert crypto.public_key_id(first) != crypto.key_id(first)


# --- return codes --------------------------------------------------------------------------

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
SCRIPTS = ("0123456789", ARABIC_INDIC, PERSIAN)
SEPARATORS = (" ", "-", "\u2013", "\u00a0", "\u200e", "\u200f", "\u061c")


def test_a_return_code_is_four_groups_of_four_ascii_digits():
    codes = {crypto.generate_return_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"[0-9]{4} [0-9]{4} [0-9]{4} [0-9]{4}", code), code
        assert crypto.normalise_return_code(code) == code.replace(" ", "")


def test_return_codes_use_every_digit():
    seen = "".join(crypto.generate_return_code() for _ in range(50)).replace(" ", "")
    assert set(seen) == set("0123456789")


@st.composite
def typed_codes(draw):
    """A return code as someone might type or paste it: any digit script, any separators."""
    digits = draw(st.lists(st.integers(0, 9), min_size=16, max_size=16))
    typed = []
    for digit in digits:
        typed.append(draw(st.lists(st.sampled_from(SEPARATORS), max_size=2)))
        typed.append([draw(st.sampled_from(SCRIPTS))[digit]])
    typed.append(draw(st.lists(st.sampled_from(SEPARATORS), max_size=2)))
    return "".join(str(d) for d in digits), "".join("".join(part) for part in typed)


@QUICK
@given(code=typed_codes())
def test_a_typed_or_pasted_return_code_normalises_to_its_ascii_digits(code):
    digits, typed = code
    assert crypto.normalise_return_code(typed) == digits


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("4827 1930 5561 2204", "4827193055612204"),
        ("4827-1930-5561-2204", "4827193055612204"),
        ("4827\u20131930\u20135561\u20132204", "4827193055612204"),
        ("4827\u00a01930\u00a05561\u00a02204", "4827193055612204"),
        ("  4827193055612204\n", "4827193055612204"),
        ("٤٨٢٧ ١٩٣٠ ٥٥٦١ ٢٢٠٤", "4827193055612204"),
        ("۴۸۲۷ ۱۹۳۰ ۵۵۶۱ ۲۲۰۴", "4827193055612204"),
        ("4827 ١٩٣٠ ۵۵۶۱ 2204", "4827193055612204"),
        ("\u200f٤٨٢٧ ١٩٣٠\u200e ٥٥٦١\u061c ٢٢٠٤\u200f", "4827193055612204"),
    ],
)
def test_return_code_examples(typed, digits):
    assert crypto.normalise_return_code(typed) == digits


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "4827 1930 5561 220",  # 15 digits
        "4827 1930 5561 22045",  # 17 digits
        "٤٨٢٧ ١٩٣٠ ٥٥٦١ ٢٢٠",  # 15 Arabic-Indic digits
        "۴۸۲۷ ۱۹۳۰ ۵۵۶۱ ۲۲۰۴۴",  # 17 Persian digits
        "4827 1930 5561 220A",
        "4827 1930 5561 22O4",  # a letter O for a zero
        "abcd efgh ijkl mnop",
        "4827 1930 5561 220²",  # a superscript is not a digit of the code
        "⁴⁸²⁷ ¹⁹³⁰ ⁵⁵⁶¹ ²²⁰⁴",
    ],
)
def test_return_codes_that_cannot_be_one_are_refused(typed):
    assert crypto.normalise_return_code(typed) is None


@QUICK
@given(digits=st.text(alphabet="0123456789", min_size=0, max_size=40))
def test_only_sixteen_digits_make_a_return_code(digits):
    result = crypto.normalise_return_code(digits)
    assert (result == digits) if len(digits) == 16 else (result is None)


@QUICK
@given(code=typed_codes(), letter=st.characters(categories=["Lu", "Ll", "Lo", "No"]))
def test_a_letter_or_other_symbol_anywhere_is_refused(code, letter):
    assume(unicodedata.category(letter) != "Nd")
    _digits, typed = code
    assert crypto.normalise_return_code(typed[:5] + letter + typed[5:]) is None


# --- lookup hash ---------------------------------------------------------------------------

PEPPER = bytes(range(32))
OTHER_PEPPER = bytes(range(1, 33))


def test_the_lookup_hash_is_the_same_every_time_for_the_same_pepper():
    first = crypto.lookup_hash("4827193055612204", PEPPER, CHEAP)
    assert first == crypto.lookup_hash("4827193055612204", PEPPER, CHEAP)
    assert len(first) == 32


def test_the_lookup_hash_differs_across_peppers_and_codes():
    base = crypto.lookup_hash("4827193055612204", PEPPER, CHEAP)
    assert base != crypto.lookup_hash("4827193055612204", OTHER_PEPPER, CHEAP)
    assert base != crypto.lookup_hash("4827193055612205", PEPPER, CHEAP)
    assert base != crypto.lookup_hash("4827193055612204", PEPPER, crypto.KdfParams(2, 256, 1))
    assert b"4827193055612204" not in base


@pytest.mark.parametrize("length", [0, 1, 8, 15])
def test_a_short_pepper_is_refused(length):
    with pytest.raises(ValueError, match="pepper"):
        crypto.lookup_hash("4827193055612204", bytes(length), CHEAP)


def test_a_sixteen_byte_pepper_is_enough():
    assert len(crypto.lookup_hash("4827193055612204", bytes(16), CHEAP)) == 32


# --- recovery phrases ----------------------------------------------------------------------

PHRASE = re.compile(r"[A-HJKMNP-TV-Z2-9]{5}(-[A-HJKMNP-TV-Z2-9]{5}){7}")


def test_a_recovery_phrase_is_eight_groups_of_five_easy_to_copy_characters():
    phrases = {crypto.generate_recovery_phrase() for _ in range(50)}
    assert len(phrases) == 50
    for phrase in phrases:
        assert PHRASE.fullmatch(phrase), phrase
        assert not set(phrase) & set("01OILU")


@QUICK
@given(data=st.data())
def test_a_recovery_phrase_typed_in_lower_case_with_spaces_still_opens(data):
    phrase = crypto.generate_recovery_phrase()
    envelope = crypto.wrap_with_secret(
        crypto.normalise_recovery_phrase(phrase), ORG.private_key, b"recovery", CHEAP
    )
    groups = phrase.split("-")
    separator = data.draw(st.sampled_from([" ", "  ", "-", "", " - ", "\u00a0"]))
    typed = separator.join(groups)
    if data.draw(st.booleans()):
        typed = typed.lower()
    typed = data.draw(st.sampled_from(["", " ", "\n"])) + typed + " "
    assert crypto.normalise_recovery_phrase(typed) == phrase.replace("-", "")
    assert (
        crypto.unwrap_with_secret(crypto.normalise_recovery_phrase(typed), envelope, b"recovery")
        == ORG.private_key
    )


def test_a_recovery_phrase_with_one_character_wrong_does_not_open():
    phrase = crypto.generate_recovery_phrase()
    envelope = crypto.wrap_with_secret(
        crypto.normalise_recovery_phrase(phrase), ORG.private_key, b"recovery", CHEAP
    )
    wrong = ("B" if phrase[0] != "B" else "C") + phrase[1:]
    with pytest.raises(crypto.CannotOpen):
        crypto.unwrap_with_secret(crypto.normalise_recovery_phrase(wrong), envelope, b"recovery")


# --- one derivation of a return code, two keys ----------------------------------------------


def test_one_derivation_gives_a_lookup_value_and_a_wrapping_key_that_tell_nothing_of_each_other():
    keys = crypto.code_keys(SECRET, PEPPER, CHEAP)
    assert keys == crypto.code_keys(SECRET, PEPPER, CHEAP), "found again the next time"
    older = crypto.lookup_hash(SECRET, PEPPER, CHEAP)  # what records were found by before
    assert len({keys.lookup, keys.wrapping, older}) == 3
    other = crypto.code_keys(OTHER_SECRET, PEPPER, CHEAP)
    assert other.lookup != keys.lookup
    assert other.wrapping != keys.wrapping
    assert crypto.code_keys(SECRET, OTHER_PEPPER, CHEAP).lookup != keys.lookup
    assert all(len(key) == crypto.KEY_SIZE for key in (keys.lookup, keys.wrapping))


def test_the_wrapping_key_of_one_code_does_not_open_another_codes_envelope():
    envelope = crypto.wrap_with_code_key(
        CODE.wrapping, DATA_KEY, b"client", crypto.key_id(DATA_KEY)
    )
    assert crypto.is_code_wrapped(envelope)
    assert crypto.read_header(envelope) == (crypto.KIND_CODE_WRAPPED, crypto.key_id(DATA_KEY))
    assert crypto.unwrap_with_code_key(CODE.wrapping, envelope, b"client") == DATA_KEY
    other = crypto.code_keys(OTHER_SECRET, bytes(range(32)), CHEAP)
    older_lookup = crypto.lookup_hash(SECRET, bytes(range(32)), CHEAP)
    for key in (other.wrapping, CODE.lookup, older_lookup):
        with pytest.raises(crypto.CannotOpen):
            crypto.unwrap_with_code_key(key, envelope, b"client")
    with pytest.raises(crypto.CannotOpen):
        crypto.unwrap_with_code_key(CODE.wrapping, envelope, b"another client")
    older = crypto.wrap_with_secret(SECRET, DATA_KEY, b"client", CHEAP, crypto.key_id(DATA_KEY))
    assert not crypto.is_code_wrapped(older)
