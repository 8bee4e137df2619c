"""Sealing to a public key, now and for the next thirty years (the security issue, point 10).

What people write here can endanger them for decades, and what is copied today may be opened by
a quantum computer later. An organisation's (and a staff member's) keypair is a post-quantum
hybrid: ML-KEM-768 beside X25519. Sealing to it makes a version 2 envelope: HPKE (RFC 9180, base
mode) with the hybrid KEM, HKDF-SHA256 and AES-256-GCM, the header and the context bound in as
HPKE's info. Envelopes sealed before, to X25519 alone (version 1), still open, until `flask keys
rotate` moves them.

RFC 9180's published test vectors cannot be replayed here: every one of their encryptions
carries associated data, which the single-shot HPKE of the `cryptography` release pinned here
does not take (it binds context through `info`, as Groundwork does); the library's own suite
checks its HPKE against them. What is checked here is what Groundwork relies on: envelopes made
by this release keep opening (stored known answers of both versions), both halves of the
hybrid key are needed, and nothing relabelled, swapped or changed opens.
"""

from __future__ import annotations

import pytest

from intake import crypto

AAD = b"dek_by_org\x00client-1"
DATA_KEY = b"a data key, 32 bytes long......"

# Made once by this release, with a fixed private key: whatever changes later must still open.
HYBRID_PRIVATE = bytes.fromhex(
    "6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
    "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babb"
    "bcbdbebfc0c1c2c3"
)
SEALED_V2 = bytes.fromhex(
    "0202fce7e16ced77e1fca7a08af07c1dc2e7c0164434e36f994ef0767237aa2869ac80611aea0069633e295a"
    "59e3850622e9b542b174126967f7ce3ba3225295d7f368de4cb8b45671f4a526f8271c830d75b8ca90a0a4c9"
    "efd1d26613d210298a75edf869f62e7108f5f566d94e3b0ee9b0d0a7465a10296cc864789ad8212c83ac358e"
    "d81fcbd1fb82d6f0bf0496a0cb8f43b47e9f550e688a4bc93cbb151e05557a618d4e06b35b72e35bc8dda9ba"
    "a95c78587d2cbec5d4691d0f0c7cc1e6ac8463569f7cc1657fb38df2fa526b8ff8f9d487326b07743af82b89"
    "cc90a6fc6e119c8ae40540ca6edcb10b1808f98a5ca9cba7dd9aee9a85f833143ee3ab9331014fb561713cf9"
    "625d2291c234e83db6d907bf9afb4813de4692ceedadd71ab5abb95b804f31ef115152d425600c9dcffbd1ab"
    "a2e62b18acee4535a600a94c2879ef4c1a5010e498b06c9feb3a253828d546a2a819865e798a820c1b6ae1d8"
    "1bb1a5651a9cd5fd22914bdbf331133adf0b57f5b796caa5e25a87106d93c62ada2d1c990e8fb715c40cc8cd"
    "9753a0c29557105f8b7a1874795b656fcee2378e2ffb6678ba8aa41adffe677f664e8796b9aff07f60e085b7"
    "fe76123757945896d2e453b5f0530b4417553db7a3d6a4540aea72279c162b905eb7faa377438f520aee97c8"
    "544104102c85ecc7025b905df927c4d70b8919675293e291d6d7b4e597df53cded0adba56d7830c3c1da3701"
    "01da2b647a9c1b007d3316057d637dcddb289d79f893a51e0a6598739f2edc24d2f028f506893c2bde9ca162"
    "2024c00ec1a9bdb1e51818c63f9bc8977e8b75d9c66749827c9c607fb421d80a695b48b78f28628a2ac730b5"
    "7946d801bf9302fb343b3bb7d3c84e0cb2d1ec562d2d333261511e3b1e1c6c0633ef7d6b6b99213b72b23755"
    "5731e113b366db1a1e20e1ab2563115ff49b864a6c8a35e5b76e45874090ec129c491db92e16f1ac2cd5f6ea"
    "0a61ffe8062fc454aa296e800c20c129ba86381720c02ae1c5ab9a60c42b39cb72888c2923c18dd0db50d2d9"
    "ce64ad87635c2c9677b84e4b2c440c2318f54b77e306197453bdf2daa1d0938f5db3271c27da04056dc9c4af"
    "482aa8dfeeac0539b337656390dcac2bf6b2c194fe5af398de8fc3da3694022516f27d3b994ced815981b663"
    "0a2293b85ef8dcad3606d78978f4e09819088fb3b18281c44923f10d942440148c99b95f1089e54abb164725"
    "bfbca6acf07304cd48ceccf62380a1f75a2d016b43fb7144fc14022c50eb08f2ce520036326fc6c36fe96803"
    "bdf30a1d264a3a2c9e762bed99f532e28efea67f1f928ea415ea23954a26a7fb9f2d592f65feeff40ba47261"
    "c44ece16a67a848d5f6385a7f7d9fd77fa77b8b0d10f7692d899ccb3a8a7eaf8431df43dc9545158902da137"
    "c4d96887ebfb470d773b07f9b10e7f2a2aabe60728db255853b77ba55c90d6420c3a6f1ae9fc587200b739bd"
    "ed57752980e04324f69d43874d82298152b0696bf5fcabf621aa4b32a35a0349260dd922cbc6ae1b502f1bc0"
    "d828318156a3ac2e4b02adb1a6e0f0c3ce4c3e3c63a26c206c5f6ca3584683fa9894e7ab843e8328e07429b9"
    "5cdc93e8aa4120055a6d038bc550de385d68e1282fa019be9e66e485e43dc09ec0"
)
X25519_PRIVATE = bytes(range(1, 33))
SEALED_V1 = bytes.fromhex(
    "0102f1dbb135c114fca754ead70ab51c5fbcd429568891b99b1a740f2ee507eb74a177d767f78793386496f0"
    "8b57ca9c697a34b1ef6ded5bce70e8129b10b6cdf29d55fe2e96d9af91a53c298e1321eea73c1b2b4a4cc370"
    "8c1f0446282b9a167c6cc08d00"
)


def test_envelopes_made_before_still_open_with_their_keys():
    assert SEALED_V2[0] == 2
    assert SEALED_V1[0] == 1
    assert crypto.unseal(HYBRID_PRIVATE, SEALED_V2, AAD) == DATA_KEY
    assert crypto.unseal(X25519_PRIVATE, SEALED_V1, AAD) == DATA_KEY


def test_a_hybrid_key_gets_a_version_2_envelope_and_an_x25519_key_a_version_1():
    pair = crypto.generate_org_keypair()
    sealed = crypto.seal(pair.public_key, DATA_KEY, AAD)
    assert sealed[0] == crypto.SEALED_HYBRID_VERSION
    assert crypto.envelope_version(sealed) == 2
    assert crypto.unseal(pair.private_key, sealed, AAD) == DATA_KEY
    old = crypto.seal(crypto.public_key_of(X25519_PRIVATE), DATA_KEY, AAD)
    assert crypto.envelope_version(old) == 1


@pytest.mark.parametrize("version", [1, 2, 3, 0])
def test_a_version_byte_changed_never_opens(version):
    for envelope, key in ((SEALED_V2, HYBRID_PRIVATE), (SEALED_V1, X25519_PRIVATE)):
        if envelope[0] == version:
            continue
        with pytest.raises(crypto.CannotOpen):
            crypto.unseal(key, bytes([version]) + envelope[1:], AAD)


def _relabelled(envelope: bytes, private_key: bytes) -> bytes:
    """The envelope, its header naming another key (so only the cryptography can refuse it)."""
    kid = crypto.public_key_id(crypto.public_key_of(private_key))
    return envelope[:2] + kid + envelope[2 + crypto.KEY_ID_SIZE :]


def test_both_halves_of_the_hybrid_key_are_needed():
    seed, classical = HYBRID_PRIVATE[:64], HYBRID_PRIVATE[64:]
    other = crypto.generate_org_keypair().private_key
    only_the_x25519_half = other[:64] + classical  # the right X25519 key, another ML-KEM key
    only_the_mlkem_half = seed + other[64:]  # the right ML-KEM key, another X25519 key
    for forged in (only_the_x25519_half, only_the_mlkem_half, other):
        with pytest.raises(crypto.WrongKey):
            crypto.unseal(forged, SEALED_V2, AAD)  # the header names the real key
        with pytest.raises(crypto.CannotOpen):
            crypto.unseal(forged, _relabelled(SEALED_V2, forged), AAD)


def test_an_x25519_key_alone_never_opens_a_version_2_envelope():
    with pytest.raises(crypto.CannotOpen):
        crypto.unseal(HYBRID_PRIVATE[64:], SEALED_V2, AAD)
    with pytest.raises(crypto.CannotOpen):
        crypto.unseal(HYBRID_PRIVATE[64:], _relabelled(SEALED_V2, HYBRID_PRIVATE[64:]), AAD)


def test_the_context_is_bound_in():
    with pytest.raises(crypto.CannotOpen):
        crypto.unseal(HYBRID_PRIVATE, SEALED_V2, b"dek_by_org\x00client-2")
    swapped_header = SEALED_V2[:1] + bytes([crypto.KIND_SECRET_KEY]) + SEALED_V2[2:]
    with pytest.raises(crypto.DamagedEnvelope):
        crypto.unseal(HYBRID_PRIVATE, swapped_header, AAD)
