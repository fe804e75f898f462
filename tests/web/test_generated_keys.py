"""The keys the embedded deployment generates beside its database on first start.

`make run` starts the web server and its worker together, and the production test starts
`collectstatic` beside `migrate`: several processes can read the settings of a new data folder
at once. Each must come up, and all must hold the same keys: a process that generated its own
field key would encrypt identifiers no other process could read again.
"""

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.slow

PROCESSES = 6
ROUNDS = 8

# Each process imports what it needs first, then waits for the start file, so that all of
# them read the settings of the new folder within a millisecond of one another.
READ_SETTINGS = textwrap.dedent(
    """
    import os, sys, time
    import django.conf, cryptography.fernet, secrets
    start = sys.argv[1]
    while not os.path.exists(start):
        time.sleep(0.0005)
    from django.conf import settings
    print(settings.SECRET_KEY, settings.IDENTIFIER_HASH_KEY, *settings.FIELD_ENCRYPTION_KEYS)
    """
)


def start_together(data_dir, start_file):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("THERMABLATE_") and key not in {"SECRET_KEY", "DATABASE_URL"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "thermablate.web.settings",
        "THERMABLATE_DATA_DIR": str(data_dir),
    }
    return [
        subprocess.Popen(
            [sys.executable, "-c", READ_SETTINGS, str(start_file)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]


def test_it_gives_processes_starting_together_one_set_of_keys(tmp_path):
    for round_number in range(ROUNDS):
        data_dir = tmp_path / f"data-{round_number}"
        start_file = tmp_path / f"start-{round_number}"
        processes = start_together(data_dir, start_file)
        time.sleep(1.5)  # the imports before the wait
        start_file.touch()
        answers = []
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            answers.append(out.strip())
        assert len(set(answers)) == 1, f"round {round_number}: {len(set(answers))} sets of keys"
        secret_key, hash_key, *field_keys = answers[0].split()
        assert len(secret_key) >= 32 and len(hash_key) >= 32 and len(field_keys) == 1
        for name in ("secret_key", "hash_key", "field_keys"):
            assert (data_dir / name).stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith(".")) == []


def test_it_refuses_an_emptied_key_rather_than_make_a_new_one(tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from thermablate.web.secret_files import read_or_create_secret

    key_file = tmp_path / "field_keys"
    assert read_or_create_secret(key_file, lambda: "first-key") == "first-key"
    assert read_or_create_secret(key_file, lambda: "second-key") == "first-key"
    key_file.write_text("")
    with pytest.raises(ImproperlyConfigured, match="restore it from the backup"):
        read_or_create_secret(key_file, lambda: "third-key")
    assert key_file.read_text() == ""


def test_it_creates_the_key_where_the_filesystem_has_no_hard_links(tmp_path, monkeypatch):
    """vfat and some SMB or FUSE mounts refuse os.link (EPERM, EOPNOTSUPP): the key is then
    created under its name exclusively, still readable by its owner only."""
    import os

    from thermablate.web import secret_files

    def no_hard_links(source, target):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(secret_files.os, "link", no_hard_links)
    key_file = tmp_path / "hash_key"
    assert secret_files.read_or_create_secret(key_file, lambda: "k" * 43) == "k" * 43
    assert secret_files.read_or_create_secret(key_file, lambda: "other") == "k" * 43
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["hash_key"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("hash_key", "short", "holds a key shorter than 32 characters"),
        (
            "field_keys",
            "not-a-fernet-key",
            r"holds something that is not a Fernet key \(32 url-safe base64 bytes\)",
        ),
    ],
)
def test_a_damaged_key_file_is_named_and_refused_not_replaced(
    tmp_path, monkeypatch, name, content, message
):
    # Before: a short hash_key got the environment variable's message (the file was not
    # named), and a damaged field_keys file was not checked at all: start-up went on, and the
    # first patient saved raised an error.
    from django.core.exceptions import ImproperlyConfigured

    from thermablate.web import settings

    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    for variable in ("THERMABLATE_FIELD_KEYS", "THERMABLATE_HASH_KEY"):
        monkeypatch.delenv(variable, raising=False)
    settings._field_keys()  # a new folder: both keys generated and accepted
    (tmp_path / name).write_text(content)
    with pytest.raises(ImproperlyConfigured, match=f"{name} {message}: restore it"):
        settings._field_keys()
    assert (tmp_path / name).read_text() == content


def test_the_key_s_name_is_synced_to_disk_with_its_folder(tmp_path, monkeypatch):
    """After a power cut the folder must still hold the key's name, or data encrypted with it
    could never be read again: the folder is synced after the name is created."""
    import stat

    from thermablate.web import secret_files

    synced = []
    real_fsync = os.fsync

    def spy(descriptor):
        synced.append(stat.S_ISDIR(os.fstat(descriptor).st_mode))
        real_fsync(descriptor)

    monkeypatch.setattr(secret_files.os, "fsync", spy)
    secret_files.read_or_create_secret(tmp_path / "hash_key", lambda: "k" * 43)
    assert synced == [False, True]  # the file's contents, then the folder
