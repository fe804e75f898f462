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

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def read_or_create_secret(path: Path, generate: Callable[[], str]) -> str:
    """The secret stored at ``path``, generating it with ``generate()`` if there is none.

    Raises ``ImproperlyConfigured`` if the file exists but is empty (a secret lost from an
    older install, or truncated by hand): making a new one would lock away every identifier
    encrypted with the old.
    """
    if not path.exists():
        _create(path, generate())
    secret = path.read_text().strip()
    if not secret:
        raise ImproperlyConfigured(
            f"{path} is empty: restore it from the backup of the data folder "
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
        # Another process got there first if the name exists: its secret is the one.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
