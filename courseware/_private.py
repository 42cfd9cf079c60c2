"""Files and folders only their owner can read: a learner's saved work on a shared machine.

Homes on a hub are often world-readable (``0755``), so anything courseware writes there for a
learner (the response store, the hub outbox, their SQLite WAL and shared-memory files, locks, the
compiled-content cache) is created private: folders ``0700``, files ``0600``. A file or folder
from an older version with looser modes is tightened when it is next opened. SQLite creates a
database's ``-wal`` and ``-shm`` files with the database file's own permissions, so creating the
database file ``0600`` before SQLite opens it makes them private too.

Existing folders are tightened only if courseware owns them (its data and cache folders), so a
configured path in a shared folder keeps that folder's mode. Shared course folders (nbgrader's
exchange, a course folder tutors share) are not learner-private and never pass through here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database."""

_umask_lock = threading.Lock()


def _tighten(path: Path, mode: int) -> None:
    """Take away group and other permissions from ``path`` if it is ours and has any."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.geteuid():
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)


def user_data_dir() -> Path:
    """The learner's courseware data folder: ``$XDG_DATA_HOME/courseware`` or
    ``~/.local/share/courseware`` (the store and the outbox live here)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "courseware"


def data_location(env: str, name: str) -> str:
    """Where a learner's data file is: ``$env`` if set (a path, or a URL for the store), else
    ``name`` in :func:`user_data_dir`."""
    return os.environ.get(env, "").strip() or str(user_data_dir() / name)


def user_cache_dir() -> Path:
    """The learner's courseware cache: ``$XDG_CACHE_HOME/courseware`` or ``~/.cache/courseware``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "courseware"


def _ours(folder: Path) -> bool:
    """A folder courseware owns outright (its data or cache folder, or inside them): safe to
    tighten even if it already existed. Any other existing folder (a configured path, a shared
    ``/srv`` folder) is left as it is."""
    return any(
        folder == own or own in folder.parents for own in (user_data_dir(), user_cache_dir())
    )


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` a folder only its owner may enter, creating it and any missing parents
    ``0700``; return it.

    Existing folders are tightened only when courseware owns them (:func:`user_data_dir`,
    :func:`user_cache_dir`): ``~/.local/share`` or a shared folder keeps its mode.
    """
    folder = Path(path)
    for parent in reversed((folder, *folder.parents)):
        if parent.exists():
            if _ours(parent):
                _tighten(parent, PRIVATE_DIR)
            continue
        with contextlib.suppress(FileExistsError):
            parent.mkdir(mode=PRIVATE_DIR)
        _tighten(parent, PRIVATE_DIR)  # mkdir's mode is cut by the umask, never widened
    return folder


def private_file(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` an existing file only its owner may read (created empty if missing).

    Its folder is created private with :func:`private_dir` if missing.
    """
    file = Path(path)
    private_dir(file.parent)
    fd = os.open(file, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    _tighten(file, PRIVATE_FILE)
    return file


def private_sqlite(path: str | os.PathLike[str]) -> Path:
    """Prepare a SQLite database file so that it and every file beside it are private.

    Call before ``sqlite3.connect``: the database is created ``0600`` (SQLite copies its mode to
    the ``-wal`` and ``-shm`` files it creates later), and existing side files are tightened.
    """
    file = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        _tighten(file.with_name(file.name + suffix), PRIVATE_FILE)
    return file


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files and folders this process creates are private (umask ``077``).

    The umask belongs to the whole process, so uses are serialised and the old value always
    restored; it only ever narrows permissions while set.
    """
    with _umask_lock:
        old = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(old)
