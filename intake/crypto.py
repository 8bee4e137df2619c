"""Every cryptographic operation in Groundwork, and the only module that imports `cryptography`.

What it owns (DESIGN.md §5):

* random data keys (DEKs) and AES-256-GCM envelopes bound to their context by associated data;
* sealing to a public key (the organisation's, a staff member's): envelope version 2 is HPKE
  (RFC 9180, base mode) with the post-quantum hybrid KEM ML-KEM-768 + X25519, HKDF-SHA256 and
  AES-256-GCM; version 1 (ephemeral X25519 → HKDF-SHA256 → AES-256-GCM) still opens, so keys
  sealed before can be read until `flask keys rotate` moves them;
* Argon2id key derivation, and envelopes wrapped under a human-held secret (a password, the
  recovery phrase, an invite secret, a return code) that carry their own salt and cost;
* return codes and recovery phrases: generation, normalisation, and the peppered lookup hash;
  one Argon2id derivation of a return code gives both the value a person is found by and the
  key their data key is wrapped under (split with HKDF: `code_keys`);
* webhook signing secrets and their signatures (Standard Webhooks, symmetric `v1`: HMAC-SHA256
  over `id.timestamp.body`), and the server key that keeps those secrets encrypted at rest.

Every envelope starts with a header: one version byte, one kind byte and an eight-byte key id.
The header is authenticated as part of the associated data, so it cannot be swapped. The key id
says which key opens the envelope (for a secret-wrapped envelope: which key is inside it), so
keys can be rotated and formats changed without guessing.

Nothing here knows about Flask, requests or the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ENVELOPE_VERSION = 1
SEALED_HYBRID_VERSION = 2  # a sealed envelope made with HPKE and ML-KEM-768 + X25519
KEY_SIZE = 32
NONCE_SIZE = 12
SALT_SIZE = 16
KEY_ID_SIZE = 8

KIND_SECRET_KEY = 1  # AES-256-GCM under a 32-byte key (a DEK, a staff key, a session key)
KIND_SEALED = 2  # sealed to an X25519 public key
KIND_SECRET_WRAPPED = 3  # AES-256-GCM under an Argon2id key from a human-held secret
KIND_CODE_WRAPPED = 4  # AES-256-GCM under the wrapping key of a return code (`code_keys`)

_HEADER = struct.Struct(">BB8s")
_KDF_PARAMS = struct.Struct(">IIB")  # iterations, memory in KiB, lanes
_SEAL_INFO = b"groundwork seal v1"
_WEBHOOK_SECRETS_INFO = b"groundwork webhook secrets v1"
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - how Standard Webhooks writes a signing secret
_HPKE_INFO = b"groundwork seal v2\x00"
_HPKE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

X25519_KEY_SIZE = 32
MLKEM_SEED_SIZE = 64  # ML-KEM-768's private key as its seed (d ‖ z), FIPS 203
MLKEM_PUBLIC_SIZE = 1184
HYBRID_PRIVATE_SIZE = MLKEM_SEED_SIZE + X25519_KEY_SIZE  # 96 bytes
HYBRID_PUBLIC_SIZE = MLKEM_PUBLIC_SIZE + X25519_KEY_SIZE  # 1216 bytes
HYBRID_ENC_SIZE = 1088 + X25519_KEY_SIZE  # HPKE's enc: ML-KEM-768 ciphertext, X25519 share

RETURN_CODE_DIGITS = 16
RECOVERY_PHRASE_GROUPS = 8
_RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to copy by hand
_SEPARATORS = frozenset(" -_.\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u0640\u066c\u060c")


class CannotOpen(Exception):
    """An envelope did not open: it is damaged, or the key is not the right one.

    AES-GCM cannot tell those apart, and Groundwork never treats either as an empty answer.
    """


class DamagedEnvelope(CannotOpen):
    """The bytes are not a Groundwork envelope of a known version and kind."""


class WrongKey(CannotOpen):
    """The envelope names a different key than the one offered."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. Stored inside each secret-wrapped envelope so it can change later."""

    iterations: int = 3
    memory_kib: int = 65536
    lanes: int = 4


@dataclass(frozen=True)
class OrgKeyPair:
    """A keypair to seal to (the organisation's, or a staff member's personal one), as raw
    bytes: ML-KEM-768 + X25519 (96-byte private key, 1216-byte public key); older ones are
    X25519 alone (32 and 32 bytes)."""

    private_key: bytes
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return public_key_id(self.public_key)


# --- keys and ids -------------------------------------------------------------------------


def new_data_key() -> bytes:
    """A fresh random 256-bit key (a client's DEK, a staff member's personal key, ...)."""
    return secrets.token_bytes(KEY_SIZE)


def key_id(key: bytes) -> bytes:
    """A short one-way name for a symmetric key, so an envelope can say which key it needs."""
    return hashlib.sha256(b"groundwork key id\x00" + key).digest()[:KEY_ID_SIZE]


def public_key_id(public_key: bytes) -> bytes:
    """A short name for an organisation public key."""
    return hashlib.sha256(b"groundwork public key id\x00" + public_key).digest()[:KEY_ID_SIZE]


def generate_org_keypair() -> OrgKeyPair:
    """A new post-quantum hybrid keypair: ML-KEM-768 (its 64-byte seed) and X25519."""
    private = new_private_key()
    return OrgKeyPair(private_key=private, public_key=public_key_of(private))


def new_private_key() -> bytes:
    """96 random bytes: an ML-KEM-768 seed and an X25519 private key, side by side."""
    mlkem = MLKEM768PrivateKey.generate().private_bytes_raw()
    classic = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return mlkem + classic


def is_hybrid(key: bytes) -> bool:
    """Is this raw key (private or public) one of the post-quantum hybrid kind?"""
    return len(key) in (HYBRID_PRIVATE_SIZE, HYBRID_PUBLIC_SIZE)


def _x25519_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _hybrid_public(public_key: bytes) -> hpke.MLKEM768X25519PublicKey:
    try:
        return hpke.MLKEM768X25519PublicKey(
            MLKEM768PublicKey.from_public_bytes(public_key[:MLKEM_PUBLIC_SIZE]),
            X25519PublicKey.from_public_bytes(public_key[MLKEM_PUBLIC_SIZE:]),
        )
    except ValueError as exc:
        raise WrongKey("not a hybrid public key") from exc


def public_key_of(private_key: bytes) -> bytes:
    """The public half of a raw private key (hybrid, or X25519 alone)."""
    return read_private_key(private_key).public_key


@dataclass(frozen=True, eq=False, repr=False)
class PrivateKey:
    """A raw private key read once: its public half, and the parsed keys that open envelopes
    sealed to it. Expanding an ML-KEM-768 seed is most of the cost of opening one envelope, so
    a page that opens many (a list of names) reads its key once and passes this around. Never
    kept beyond the request that read it."""

    raw: bytes
    public_key: bytes
    hybrid: hpke.MLKEM768X25519PrivateKey | None
    classic: X25519PrivateKey


PrivateKeyLike = bytes | PrivateKey  # a raw private key, or one read once


def read_private_key(private_key: PrivateKeyLike) -> PrivateKey:
    """The key read once (a `PrivateKey` is returned as it is); WrongKey if it is none."""
    if isinstance(private_key, PrivateKey):
        return private_key
    try:
        if len(private_key) == HYBRID_PRIVATE_SIZE:
            mlkem = MLKEM768PrivateKey.from_seed_bytes(private_key[:MLKEM_SEED_SIZE])
            classic = X25519PrivateKey.from_private_bytes(private_key[MLKEM_SEED_SIZE:])
            public = mlkem.public_key().public_bytes_raw() + _x25519_public(classic)
            hybrid = hpke.MLKEM768X25519PrivateKey(mlkem, classic)
            return PrivateKey(private_key, public, hybrid, classic)
        classic = X25519PrivateKey.from_private_bytes(private_key)
        return PrivateKey(private_key, _x25519_public(classic), None, classic)
    except ValueError as exc:
        raise WrongKey("not a private key") from exc


# --- envelopes ----------------------------------------------------------------------------


def _header(kind: int, kid: bytes, version: int = ENVELOPE_VERSION) -> bytes:
    return _HEADER.pack(version, kind, kid)


def read_header(envelope: bytes) -> tuple[int, bytes]:
    """Return (kind, key id) of an envelope, or raise DamagedEnvelope."""
    if len(envelope) < _HEADER.size:
        raise DamagedEnvelope("too short")
    version, kind, kid = _HEADER.unpack_from(envelope)
    if kind not in (KIND_SECRET_KEY, KIND_SEALED, KIND_SECRET_WRAPPED, KIND_CODE_WRAPPED):
        raise DamagedEnvelope("unknown envelope kind")
    if version != ENVELOPE_VERSION and not (
        kind == KIND_SEALED and version == SEALED_HYBRID_VERSION
    ):
        raise DamagedEnvelope("unknown envelope version")
    return kind, kid


def envelope_version(envelope: bytes) -> int:
    """The version byte of an envelope (2: sealed with the post-quantum hybrid KEM)."""
    read_header(envelope)
    return envelope[0]


def _expect(envelope: bytes, kind: int) -> bytes:
    found_kind, kid = read_header(envelope)
    if found_kind != kind:
        raise DamagedEnvelope("envelope of another kind")
    return kid


def _aead_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag as exc:
        raise CannotOpen("the envelope is damaged or the key is wrong") from exc


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM under `key` with a random 96-bit nonce, bound to `aad`."""
    if len(key) != KEY_SIZE:
        raise ValueError("keys are 32 bytes")
    header = _header(KIND_SECRET_KEY, key_id(key))
    nonce = secrets.token_bytes(NONCE_SIZE)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def decrypt(key: bytes, envelope: bytes, aad: bytes) -> bytes:
    """Open an envelope made by `encrypt`; raise CannotOpen if anything does not match."""
    kid = _expect(envelope, KIND_SECRET_KEY)
    if len(key) != KEY_SIZE or not secrets.compare_digest(kid, key_id(key)):
        raise WrongKey("this envelope needs another key")
    body = envelope[_HEADER.size :]
    if len(body) < NONCE_SIZE + 16:
        raise DamagedEnvelope("too short")
    header = envelope[: _HEADER.size]
    return _aead_open(key, body[:NONCE_SIZE], body[NONCE_SIZE:], header + aad)


def _seal_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=ephemeral_public + recipient_public,
        info=_SEAL_INFO,
    ).derive(shared)


def seal(public_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt to the holder of the matching private key; only the public key is needed.

    A hybrid public key gets a version 2 envelope: HPKE base mode, ML-KEM-768 + X25519,
    HKDF-SHA256, AES-256-GCM, with the header and `aad` as HPKE's info (the single-shot API
    authenticates its info). An X25519 key alone still gets version 1, until it is rotated.
    """
    if len(public_key) == HYBRID_PUBLIC_SIZE:
        header = _header(KIND_SEALED, public_key_id(public_key), SEALED_HYBRID_VERSION)
        sealed = _HPKE.encrypt(
            plaintext, _hybrid_public(public_key), info=_HPKE_INFO + header + aad
        )
        return header + sealed
    try:
        recipient = X25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise WrongKey("not a public key to seal to") from exc
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _x25519_public(ephemeral)
    key = _seal_key(ephemeral.exchange(recipient), ephemeral_public, public_key)
    header = _header(KIND_SEALED, public_key_id(public_key))
    nonce = secrets.token_bytes(NONCE_SIZE)
    return header + ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def unseal(private_key: PrivateKeyLike, envelope: bytes, aad: bytes) -> bytes:
    """Open an envelope made by `seal` with the matching private key (either version), raw or
    read once (`read_private_key`)."""
    kid = _expect(envelope, KIND_SEALED)
    key = read_private_key(private_key)
    public_key = key.public_key
    if not secrets.compare_digest(kid, public_key_id(public_key)):
        raise WrongKey("this envelope was sealed to another key")
    header, body = envelope[: _HEADER.size], envelope[_HEADER.size :]
    if envelope[0] == SEALED_HYBRID_VERSION:
        if len(body) < HYBRID_ENC_SIZE + 16:
            raise DamagedEnvelope("too short")
        if key.hybrid is None:
            raise WrongKey("this envelope needs a hybrid key")
        try:
            return _HPKE.decrypt(body, key.hybrid, info=_HPKE_INFO + header + aad)
        except (InvalidTag, ValueError) as exc:
            raise CannotOpen("the envelope is damaged or the key is wrong") from exc
    if key.hybrid is not None:
        raise WrongKey("this envelope was sealed with X25519 alone")
    if len(body) < 32 + NONCE_SIZE + 16:
        raise DamagedEnvelope("too short")
    ephemeral_public, nonce, ciphertext = body[:32], body[32 : 32 + NONCE_SIZE], body[44:]
    try:
        ephemeral = X25519PublicKey.from_public_bytes(ephemeral_public)
        shared = key.classic.exchange(ephemeral)
    except ValueError as exc:
        raise DamagedEnvelope("bad ephemeral key") from exc
    opening = _seal_key(shared, ephemeral_public, public_key)
    return _aead_open(opening, nonce, ciphertext, header + aad)


# One Argon2id at a time in a process. OpenSSL runs the lanes of a derivation on its own
# thread pool, and two derivations at once from two threads of one process (a gunicorn worker
# with --threads) fail with MemoryError or never return. One at a time still uses every core
# (the lanes run in parallel) and holds one derivation's memory per process, not one per thread.
_ARGON2_ONE_AT_A_TIME = threading.Lock()


def derive_key(secret: str | bytes, salt: bytes, params: KdfParams) -> bytes:
    """Argon2id: a 256-bit key from a human-held secret."""
    material = secret.encode("utf-8") if isinstance(secret, str) else secret
    kdf = Argon2id(
        salt=salt,
        length=KEY_SIZE,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    with _ARGON2_ONE_AT_A_TIME:
        return kdf.derive(material)


def wrap_with_secret(
    secret: str, payload: bytes, aad: bytes, params: KdfParams, payload_key_id: bytes | None = None
) -> bytes:
    """Wrap `payload` (usually a key) under an Argon2id key derived from `secret`.

    The envelope carries its own salt and cost. Its key id names the payload when it is a key
    (so rotation can find wraps of a retired key); otherwise it is zero.
    """
    salt = secrets.token_bytes(SALT_SIZE)
    wrapping_key = derive_key(secret, salt, params)
    header = _header(KIND_SECRET_WRAPPED, payload_key_id or bytes(KEY_ID_SIZE))
    kdf = _KDF_PARAMS.pack(params.iterations, params.memory_kib, params.lanes)
    nonce = secrets.token_bytes(NONCE_SIZE)
    sealed = AESGCM(wrapping_key).encrypt(nonce, payload, header + kdf + salt + aad)
    return header + kdf + salt + nonce + sealed


def unwrap_with_secret(secret: str, envelope: bytes, aad: bytes) -> bytes:
    """Open an envelope made by `wrap_with_secret`."""
    _expect(envelope, KIND_SECRET_WRAPPED)
    offset = _HEADER.size
    if len(envelope) < offset + _KDF_PARAMS.size + SALT_SIZE + NONCE_SIZE + 16:
        raise DamagedEnvelope("too short")
    iterations, memory_kib, lanes = _KDF_PARAMS.unpack_from(envelope, offset)
    if not (1 <= iterations <= 16 and 1 <= lanes <= 16 and 8 * lanes <= memory_kib <= 1 << 20):
        raise DamagedEnvelope("implausible key derivation cost")
    kdf_end = offset + _KDF_PARAMS.size
    salt = envelope[kdf_end : kdf_end + SALT_SIZE]
    nonce = envelope[kdf_end + SALT_SIZE : kdf_end + SALT_SIZE + NONCE_SIZE]
    wrapping_key = derive_key(secret, salt, KdfParams(iterations, memory_kib, lanes))
    return _aead_open(
        wrapping_key,
        nonce,
        envelope[kdf_end + SALT_SIZE + NONCE_SIZE :],
        envelope[:kdf_end] + salt + aad,
    )


def wrapped_key_id(envelope: bytes) -> bytes:
    """The key id an envelope names, without opening it."""
    return read_header(envelope)[1]


# --- return codes, recovery phrases and secrets held by people ----------------------------


def normalise_digits(text: str) -> str:
    """Map any Unicode decimal digit (Arabic-Indic, Persian, full-width, ...) to ASCII."""
    return "".join(
        str(unicodedata.decimal(char)) if unicodedata.category(char) == "Nd" else char
        for char in text
    )


def _strip_separators(text: str) -> str:
    return "".join(
        char
        for char in text
        if char not in _SEPARATORS
        and not char.isspace()
        and unicodedata.category(char) != "Cf"  # direction marks pasted from RTL text
    )


def generate_return_code() -> str:
    """16 random digits (about 53 bits), as four groups: '4827 1930 5561 2204'."""
    digits = "".join(str(secrets.randbelow(10)) for _ in range(RETURN_CODE_DIGITS))
    return format_return_code(digits)


def format_return_code(digits: str) -> str:
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def normalise_return_code(text: str) -> str | None:
    """The 16 ASCII digits of a typed return code, or None if it cannot be one.

    Spaces, dashes and direction marks are dropped; Arabic-Indic, Persian and other digits
    become ASCII.
    """
    candidate = _strip_separators(normalise_digits(text))
    if len(candidate) == RETURN_CODE_DIGITS and candidate.isascii() and candidate.isdigit():
        return candidate
    return None


def lookup_hash(code_digits: str, pepper: bytes, params: KdfParams) -> bytes:
    """Deterministic, peppered Argon2id of a normalised return code: how a client is found."""
    if len(pepper) < SALT_SIZE:
        raise ValueError("the lookup pepper needs at least 16 bytes")
    return derive_key(code_digits, pepper, params)


@dataclass(frozen=True)
class CodeKeys:
    """What one Argon2id derivation of a return code gives (SECURITY.md, "One derivation for
    each return code"): `lookup`, the value the database keeps to find the person, and
    `wrapping`, the key their data key is wrapped under, which is never stored. Both come from
    the derivation by HKDF-SHA256 with different labels, so neither tells anything of the
    other, and the derivation itself is kept nowhere."""

    lookup: bytes
    wrapping: bytes


_CODE_KEYS_DOMAIN = "groundwork return code keys\x00"
_CODE_LOOKUP_INFO = b"groundwork return code: lookup"
_CODE_WRAPPING_INFO = b"groundwork return code: wrapping key"


def code_keys(code_digits: str, pepper: bytes, params: KdfParams) -> CodeKeys:
    """One Argon2id derivation of a normalised return code, split into its two keys.

    The derivation is over the code in a domain of its own, so it is never the value older
    records were found by (`lookup_hash` of the code alone, which backups may keep): nothing
    derived from one of those opens anything."""
    derived = lookup_hash(_CODE_KEYS_DOMAIN + code_digits, pepper, params)
    return CodeKeys(
        lookup=_expand(derived, _CODE_LOOKUP_INFO),
        wrapping=_expand(derived, _CODE_WRAPPING_INFO),
    )


def _expand(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(key)


def wrap_with_code_key(
    wrapping_key: bytes, payload: bytes, aad: bytes, payload_key_id: bytes
) -> bytes:
    """Wrap `payload` (a data key) under a return code's wrapping key (`code_keys`). The key
    id names the payload, as for a secret-wrapped envelope."""
    header = _header(KIND_CODE_WRAPPED, payload_key_id)
    nonce = secrets.token_bytes(NONCE_SIZE)
    return header + nonce + AESGCM(wrapping_key).encrypt(nonce, payload, header + aad)


def unwrap_with_code_key(wrapping_key: bytes, envelope: bytes, aad: bytes) -> bytes:
    """Open an envelope made by `wrap_with_code_key`."""
    _expect(envelope, KIND_CODE_WRAPPED)
    body = envelope[_HEADER.size :]
    if len(body) < NONCE_SIZE + 16:
        raise DamagedEnvelope("too short")
    header = envelope[: _HEADER.size]
    return _aead_open(wrapping_key, body[:NONCE_SIZE], body[NONCE_SIZE:], header + aad)


def is_code_wrapped(envelope: bytes) -> bool:
    """Whether a return code's envelope is of the one-derivation kind (or an older one)."""
    return read_header(envelope)[0] == KIND_CODE_WRAPPED


def generate_recovery_phrase() -> str:
    """Eight groups of five letters and digits (about 196 bits), printed once by `org init`."""
    groups = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5))
        for _ in range(RECOVERY_PHRASE_GROUPS)
    ]
    return "-".join(groups)


def normalise_recovery_phrase(text: str) -> str:
    return _strip_separators(normalise_digits(text)).upper()


REFERRAL_CODE_LENGTH = 12
LEGACY_REFERRAL_CODE_LENGTH = 8  # cards printed before codes grew; they expire within weeks


def generate_referral_code() -> str:
    """A code a person can type from a card: 12 letters and digits in three groups,
    'K7QM-3PXT-9WRX' (30¹² ≈ 5 × 10¹⁷, about 59 bits: more than a return code's 10¹⁶)."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))
    return "-".join(chars[i : i + 4] for i in range(0, REFERRAL_CODE_LENGTH, 4))


def normalise_referral_code(text: str) -> str | None:
    """The characters of a typed referral code (12, or 8 on an older card), or None if it
    cannot be one."""
    candidate = _strip_separators(normalise_digits(text)).upper()
    lengths = (REFERRAL_CODE_LENGTH, LEGACY_REFERRAL_CODE_LENGTH)
    if len(candidate) in lengths and all(c in _RECOVERY_ALPHABET for c in candidate):
        return candidate
    return None


def referral_lookup_hash(code: str, pepper: bytes, params: KdfParams) -> str:
    """How a referral code is found: a peppered Argon2id like a return code's lookup (its own
    domain), hex. With a copy of the database and the pepper, each guess costs as much as a
    guess at a return code, over more possible codes."""
    return lookup_hash(f"referral\x00{code}", pepper, params).hex()


def keyed_digest(key: bytes, value: str) -> str:
    """HMAC-SHA256 of an 8-character referral code under the server's pepper, hex: how codes
    were found before they grew to 12 characters (kept only to find those, until they expire)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def new_secret_token() -> str:
    """A random URL-safe secret (session ids, invite secrets, API tokens): 256 bits."""
    return secrets.token_urlsafe(KEY_SIZE)


def token_digest(token: str) -> str:
    """How a high-entropy token is stored: its SHA-256, hex. Never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- webhooks (Standard Webhooks, symmetric) -------------------------------------------------


def new_webhook_secret() -> bytes:
    """A signing secret for one partner endpoint: 256 random bits."""
    return secrets.token_bytes(KEY_SIZE)


def webhook_secret_text(secret: bytes) -> str:
    """The secret as a partner copies it: `whsec_` and base64, as Standard Webhooks writes it."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secret).decode("ascii")


def webhook_secrets_key(pepper: bytes) -> bytes:
    """The key that webhook signing secrets are encrypted under in the database, from the
    server's pepper: a copy of the database alone does not let anyone sign as Groundwork."""
    return _expand(pepper, _WEBHOOK_SECRETS_INFO)


def sign_webhook(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
    The id and timestamp are ours, never a partner's, and hold no full stop."""
    if "." in message_id:
        raise ValueError("a webhook id holds no full stop")
    signed = message_id.encode("ascii") + b"." + str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")
