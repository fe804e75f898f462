"""Encryption and authentication of backup files, streamed in segments (no Django here).

Why not Fernet, which protects NHS numbers in the database: a Fernet token is a single
message that has to be held whole in memory to be written or checked, and the registry of
100,000 procedures backs up to hundreds of megabytes. A backup is instead cut into segments of
``SEGMENT_BYTES``, each sealed with AES-256-GCM (NIST SP 800-38D) under a key used for this
file only, derived with HKDF-SHA256 (RFC 5869) from the configured key and a random salt; so
writing or reading one holds a segment or two in memory, never the whole file.

Each segment's nonce is its number and a flag marking the last one, and each authenticates
the file's header as associated data, so segments cannot be changed, reordered, dropped,
repeated, nor the file cut short or extended, without the check failing. This is the STREAM
construction (Hoang, Reyhanitabar, Rogaway and Vizár, "Online authenticated-encryption and its
nonce-reuse misuse-resistance", CRYPTO 2015, doi:10.1007/978-3-662-47989-6_24), the design of
Google Tink's streaming AEAD.

File layout (docs/backup.md)::

    MAGIC (16 bytes) | key id (8) | salt (32) | segment 0 | segment 1 | ... | last segment

A segment is AES-GCM ciphertext followed by its 16-byte tag; every segment but the last holds
exactly ``SEGMENT_BYTES`` of plaintext, the last one 0 to ``SEGMENT_BYTES``.
"""

import base64
import binascii
import hashlib
import io
import os
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_VARIABLE = "THERMABLATE_BACKUP_KEY"
MAGIC = b"THERMABLATE\x00BKP1"  # the last byte is the container's version
KEY_BYTES = 32  # AES-256
KEY_ID_BYTES = 8
SALT_BYTES = 32
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + SALT_BYTES
TAG_BYTES = 16
SEGMENT_BYTES = 1 << 20  # 1 MiB: 16 bytes of tag per MiB, two segments in memory at most
_FILE_KEY_INFO = b"thermablate backup segments"
_KEY_ID_PREFIX = b"thermablate backup key id\x00"


class BackupKeyError(Exception):
    """No key, a malformed key, or not the key a backup was written with."""


class BackupFileError(Exception):
    """Not a backup, or a backup changed, damaged or cut short since it was written."""


def new_key() -> str:
    """A fresh random key, as THERMABLATE_BACKUP_KEY takes it (url-safe base64)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_id(key: bytes) -> bytes:
    """Names the key in a file's header without revealing anything of it, so a restore can
    say which key it needs."""
    return hashlib.sha256(_KEY_ID_PREFIX + key).digest()[:KEY_ID_BYTES]


def configured_keys(environ=os.environ) -> list[bytes]:
    """The keys of THERMABLATE_BACKUP_KEY, newest first: backups are written with the first,
    and a backup written with any of them restores (which is how the key is rotated)."""
    entries = [entry.strip() for entry in environ.get(KEY_VARIABLE, "").split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        raise BackupKeyError(
            f"{KEY_VARIABLE} is not set: backups are encrypted with it. Create a key with "
            f"`thermablate backup --new-key`, keep it in your secret store apart from the "
            f"backups, and set {KEY_VARIABLE} to it."
        )
    return [_decoded(entry, position) for position, entry in enumerate(entries, start=1)]


def _decoded(entry: str, position: int) -> bytes:
    try:
        # Either base64 alphabet: keys are pasted from password managers as well as terminals.
        key = base64.b64decode(entry, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        # Never echo the value: a key in a log is a key given away.
        raise BackupKeyError(
            f"{KEY_VARIABLE}: key {position} is not {KEY_BYTES} random bytes in base64, as "
            f"`thermablate backup --new-key` prints them"
        )
    return key


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=salt, info=_FILE_KEY_INFO)
    return AESGCM(derived.derive(key))


def _nonce(segment: int, last: bool) -> bytes:
    return segment.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class SealedWriter(io.RawIOBase):
    """Writes plaintext as sealed segments to ``raw``. Call ``finish()`` once everything is
    written: closing without it leaves a file that never authenticates, so a backup that
    failed half-way cannot pass for a complete one."""

    def __init__(self, raw: BinaryIO, key: bytes):
        super().__init__()
        salt = os.urandom(SALT_BYTES)
        self._header = MAGIC + key_id(key) + salt
        self._aead = _file_key(key, salt)
        self._raw = raw
        self._pending = bytearray()
        self._segment = 0
        raw.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._pending += data
        # Strictly more than a segment: what remains at the end is always the last segment.
        while len(self._pending) > SEGMENT_BYTES:
            self._seal(bytes(self._pending[:SEGMENT_BYTES]), last=False)
            del self._pending[:SEGMENT_BYTES]
        return len(memoryview(data).cast("B"))

    def finish(self) -> None:
        self._seal(bytes(self._pending), last=True)
        self._pending.clear()
        self._raw.flush()

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        nonce = _nonce(self._segment, last)
        self._raw.write(self._aead.encrypt(nonce, plaintext, self._header))
        self._segment += 1


class SealedReader(io.RawIOBase):
    """Reads back the plaintext of a sealed file, checking each segment before handing any of
    it out; raises BackupFileError at the first segment that fails."""

    def __init__(self, raw: BinaryIO, keys: list[bytes], *, name: str = "the file"):
        super().__init__()
        self._name = name
        header = raw.read(HEADER_BYTES)
        if not header.startswith(MAGIC):
            raise BackupFileError(f"{name} is not a Thermablate backup")
        if len(header) < HEADER_BYTES:
            raise BackupFileError(f"{name} is cut short: it ends inside its header")
        wanted = header[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES]
        key = next((k for k in keys if key_id(k) == wanted), None)
        if key is None:
            held = ", ".join(key_id(k).hex() for k in keys)
            raise BackupKeyError(
                f"{name} was encrypted with backup key {wanted.hex()}, which {KEY_VARIABLE} "
                f"does not hold (it holds {held}): set the key that wrote it (older keys may "
                f"follow the newest, comma-separated)"
            )
        self._header = header
        self._aead = _file_key(key, header[-SALT_BYTES:])
        self._raw = raw
        self._segment = 0
        self._next = raw.read(SEGMENT_BYTES + TAG_BYTES)
        self._plain = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._plain and not self._done:
            self._plain = memoryview(self._open_next())
        count = min(len(buffer), len(self._plain))
        buffer[:count] = self._plain[:count]
        self._plain = self._plain[count:]
        return count

    def _open_next(self) -> bytes:
        sealed = self._next
        # One segment of look-ahead: the last segment is the one the file ends after.
        self._next = self._raw.read(SEGMENT_BYTES + TAG_BYTES)
        last = not self._next
        try:
            plaintext = self._aead.decrypt(_nonce(self._segment, last), sealed, self._header)
        except InvalidTag:
            raise self._failure(sealed, last) from None
        self._segment += 1
        self._done = last
        return plaintext

    def _failure(self, sealed: bytes, last: bool) -> BackupFileError:
        if last:
            try:  # whole, but sealed as a middle segment: the file ends where it should not
                self._aead.decrypt(_nonce(self._segment, False), sealed, self._header)
            except InvalidTag:
                pass
            else:
                return BackupFileError(
                    f"{self._name} is cut short: it ends after segment {self._segment}, "
                    f"which is not the last one written"
                )
        return BackupFileError(
            f"{self._name} fails authentication at segment {self._segment}: it was changed, "
            f"damaged or cut short since it was written (or its header was)"
        )
