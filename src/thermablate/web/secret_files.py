"""Secrets the embedded deployment generates in its data folder on first start.

Several processes read the settings of a new data folder at once (``make run`` starts the web
server beside its worker; a deployment runs ``collectstatic`` beside ``migrate``). Each must
come up, and all must hold the same secret: a process that kept a key of its own would
encrypt identifiers that no other process, and no later start, could read again.

So a secret is written whole to a private temporary file and then linked to its name, which
never replaces a file already there: the first process to link wins, and every process,
the winners and the losers alike, reads back what is under the name. A reader never sees a
half-written file, and the file is readable by its owner only from the moment it exists.
"""

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# 40 x 50 ms: how long a reader waits for a writer that has created a key's name but not yet
# written it (only where the filesystem has no hard links).
HALF_WRITTEN_RETRIES = 40


def read_or_create_secret(
    path: Path, generate: Callable[[], str], problem: Callable[[str], str | None] | None = None
) -> str:
    """The secret stored at ``path``, generating it with ``generate()`` if there is none.

    Raises ``ImproperlyConfigured`` if the file exists but is empty (a secret lost from an
    older install, or truncated by hand), or if ``problem(secret)`` says what is wrong with
    what it holds: making a new one would lock away every identifier encrypted with the old,
    so the message names the file and asks for it back from the backup.
    """
    if not path.exists():
        _create(path, generate())

    def wrong_with(secret: str) -> str | None:
        return "is empty" if not secret else (problem(secret) if problem else None)

    secret = path.read_text().strip()
    for _ in range(HALF_WRITTEN_RETRIES):
        if not wrong_with(secret):
            break
        # Without hard links (below) another process may be between creating the name and
        # writing it, so the file may be empty or cut short: give it a moment before
        # calling the file lost or damaged.
        time.sleep(0.05)
        secret = path.read_text().strip()
    wrong = wrong_with(secret)
    if wrong:
        raise ImproperlyConfigured(
            f"{path} {wrong}: restore it from the backup of the data folder "
            "(generating a new key would leave the data encrypted with the old one unreadable)"
        )
    return secret


def _create(path: Path, secret: str) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp creates the file readable and writable by its owner only.
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process got there first: its secret is the one
        except OSError:
            # A filesystem without hard links (vfat, some SMB and FUSE mounts): create the
            # name exclusively, so one process still wins, and write it; a reader that finds
            # it still empty waits for the writer (read_or_create_secret).
            _create_exclusively(path, secret)
    finally:
        os.unlink(temporary)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the key's name as durable as its contents: after a power cut, data encrypted
    with a key whose name the folder lost could never be read again."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # a platform that cannot open a folder (Windows) cannot sync one either
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems refuse to sync a folder; the file itself is synced
    finally:
        os.close(descriptor)


def _create_exclusively(path: Path, secret: str) -> None:
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
        handle.flush()
        os.fsync(handle.fileno())
