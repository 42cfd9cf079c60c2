"""Private on disk: what courseware writes for a learner is theirs alone, on a machine of many.

The second-user test is the defect as IT found it: a world-readable home, a learner's draft saved
through the real store and outbox, and another Unix user running ``cat`` and ``strings`` over it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from courseware._private import private_dir, private_file, private_sqlite, private_umask
from courseware.content import load_module
from courseware.hub._db import SQLiteDatabase
from courseware.store import Event, Outbox, SQLiteStore

from conftest import MODULES, run_coroutine

MODULE_DIR = MODULES / "foundation-year" / "what-is-clinical-empathy"
NO_CACHE = shutil.ignore_patterns("__pycache__")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (``022``: new files world-readable), whatever the test runner had."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_store_and_its_wal_and_shm_files_are_private(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "home" / ".local" / "share" / "courseware" / "responses.sqlite"
    (tmp_path / "home" / ".local" / "share").mkdir(parents=True, mode=0o755)
    with SQLiteStore(path) as store:
        store.append(Event("ana", "m", "r", "reflection.saved", {"text": "draft"}))
        side = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in side)  # WAL mode: both exist while the store is open
        assert {p.name: mode(p) for p in (path, *side)} == {
            "responses.sqlite": 0o600,
            "responses.sqlite-wal": 0o600,
            "responses.sqlite-shm": 0o600,
        }
    assert mode(path.parent) == 0o700
    assert mode(tmp_path / "home" / ".local" / "share") == 0o755  # not ours: left alone


def test_files_left_loose_by_an_older_version_are_tightened_on_open(
    tmp_path: Path, loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = tmp_path / "courseware"  # courseware's own data folder: tightened too
    with SQLiteStore(folder / "outbox.sqlite") as store:  # the layout an older version left
        store.append(Event("ana", "m", "r", "reflection.saved", {"text": "draft"}))
        held = sqlite_side_files(folder / "outbox.sqlite")
        for path in (folder, folder / "outbox.sqlite", *held):
            path.chmod(0o755 if path.is_dir() else 0o644)
        outbox = Outbox(folder / "outbox.sqlite", "http://127.0.0.1:1/")
        outbox.add(Event("ana", "m", "r", "reflection.saved", {"text": "again"}))
        with outbox.sending():
            pass
        found = {p.name: mode(p) for p in folder.iterdir()}
        outbox.close()
    assert found == {
        "outbox.sqlite": 0o600,
        "outbox.sqlite-wal": 0o600,
        "outbox.sqlite-shm": 0o600,
        "outbox.sqlite.send-lock": 0o600,
    }
    assert mode(folder) == 0o700


def test_a_configured_path_in_a_shared_folder_keeps_the_folder_open(
    tmp_path: Path, loose_umask: None
) -> None:
    shared = tmp_path / "srv" / "courseware"
    shared.mkdir(parents=True, mode=0o755)
    with SQLiteStore(shared / "responses.sqlite") as store:
        store.append(Event("ana", "m", "r", "reflection.saved", {"text": "draft"}))
        assert mode(shared / "responses.sqlite-wal") == 0o600
    assert mode(shared) == 0o755 and mode(shared / "responses.sqlite") == 0o600
    # The hub service's own SQLite file holds everyone's responses: the service's alone.
    database = SQLiteDatabase(shared / "service.sqlite")
    run_coroutine(database.open())
    run_coroutine(database.close())
    assert mode(shared / "service.sqlite") == 0o600 and mode(shared) == 0o755


def sqlite_side_files(path: Path) -> list[Path]:
    return [p for s in ("-wal", "-shm") if (p := path.with_name(path.name + s)).exists()]


def test_helpers_create_private_and_keep_contents(tmp_path: Path, loose_umask: None) -> None:
    file = tmp_path / "a" / "b" / "notes.txt"
    private_file(file)
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b"), mode(file)) == (0o700, 0o700, 0o600)
    file.write_text("kept")
    file.chmod(0o664)
    assert private_file(file).read_text() == "kept" and mode(file) == 0o600
    assert private_sqlite(file) == file and mode(file) == 0o600
    with private_umask():
        (tmp_path / "made-inside").write_text("x")
    (tmp_path / "made-after").write_text("x")
    assert mode(tmp_path / "made-inside") == 0o600 and mode(tmp_path / "made-after") == 0o644
    assert private_dir(tmp_path / "a") == tmp_path / "a"


def test_compiled_content_is_private_in_the_user_cache_and_shared_beside_the_content(
    tmp_path: Path, loose_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shared = tmp_path / "course" / "module"
    shutil.copytree(MODULE_DIR, shared, ignore=NO_CACHE)
    load_module(shared)
    beside = sorted((shared / "__pycache__").glob("*.courseware.json"))
    assert beside and all(mode(p) == mode(shared / "module.yaml") == 0o644 for p in beside)
    # Where the course folder cannot take the cache, it goes to the user's own, privately.
    blocked = tmp_path / "blocked" / "module"
    shutil.copytree(MODULE_DIR, blocked, ignore=NO_CACHE)
    (blocked / "__pycache__").write_text("not a folder")
    load_module(blocked)
    cache = tmp_path / "cache" / "courseware"
    entries = list((cache / "compiled").iterdir())  # the same files: one entry per digest
    assert entries and all(mode(p) == 0o600 for p in entries)
    assert mode(cache) == mode(cache / "compiled") == 0o700


# -- a second Unix user reads nothing of the first --------------------------------------------

LEARNER_A = """
import os, sys, time
from pathlib import Path
import courseware as cw
from courseware.grading import AssessedAnswers
from courseware.store import Event, current_learner, open_store

home = Path.home()
secret, control, module_dir, blocked = sys.argv[1:5]
# The default store (no hub): a reflection draft through the real widget.
module = cw.open_module(module_dir)
reflection = module.reflection("what-empathy-means")
reflection.text.value = secret + " (draft in the default store)"
reflection.save()  # saved already as typed (no event loop here): nothing new
export = module.portfolio().prepare()  # the e-portfolio export, as the learner downloads it
assert secret in export["markdown"]
# On a hub: the outbox keeps the draft while the service is away.
hub = open_store("courseware+http://127.0.0.1:9/services/courseware/")
hub.wait = 0
hub.append(Event(current_learner(), "m", "r", "reflection.saved", {"text": secret + " (outbox)"}))
# An assessed answer in the learner's copy of an assignment.
AssessedAnswers(home / "course" / "assignment1").save("q1", {"text": secret + " (assessed)"})
# Content compiled into the user's cache (the course folder could not take it).
cw.open_module(blocked)
# Something the learner writes without courseware, for the other user to find.
(home / "shopping-list.txt").write_text(control)
print("ready", flush=True)
sys.stdin.readline()  # keep the stores open (WAL and SHM files present) while the other reads
hub.close()
"""


@pytest.fixture
def other_user() -> Iterator[str]:
    """A throwaway Unix account (removed afterwards): the other learner."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a second Unix user (CI runs as root)")
    name = f"cwother{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/bin/sh", name],
        check=True,
        capture_output=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def as_user(user: str, script: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["runuser", "-u", user, "--", "/bin/sh", "-c", script],
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_a_second_unix_user_reads_nothing_of_the_first(
    other_user: str, loose_umask: None, tmp_path: Path
) -> None:
    secret = f"PrivateDraft{uuid.uuid4().hex}"
    control = f"NotCourseware{uuid.uuid4().hex}"
    # A home as homes are by default: world-readable, with the usual folders in it.
    home = Path(tempfile.mkdtemp(prefix="cw-home-", dir="/tmp"))
    try:
        home.chmod(0o755)
        for folder in (".local/share", ".cache"):
            (home / folder).mkdir(parents=True, mode=0o755)
        blocked = home / "course" / "blocked-module"
        shutil.copytree(MODULE_DIR, blocked, ignore=NO_CACHE)
        (blocked / "__pycache__").write_text("")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("COURSEWARE_", "JUPYTERHUB_", "XDG_"))
        }
        env |= {"HOME": str(home), "JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_USER": "ana"}
        arguments = [secret, control, str(MODULE_DIR), str(blocked)]
        learner = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(LEARNER_A), *arguments],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert learner.stdout is not None and learner.stdin is not None
        try:
            line = learner.stdout.readline()
            assert line == b"ready\n", learner.stderr.read() if learner.stderr else line
            data = home / ".local" / "share" / "courseware"
            cache = home / ".cache" / "courseware"
            files = [
                data / "responses.sqlite",
                data / "responses.sqlite-wal",
                data / "responses.sqlite-shm",
                data / "outbox.sqlite",
                data / "outbox.sqlite-wal",
                data / "outbox.sqlite-shm",
                data / "outbox.sqlite.send-lock",
                home / "course" / "assignment1" / "assessed-answers.json",
                *(cache / "compiled").iterdir(),
            ]
            assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
            assert {oct(mode(p)) for p in (data, cache, cache / "compiled")} == {"0o700"}
            # Every file courseware made, found by walking the folders it made.
            made = [p for top in (data, cache) for p in top.rglob("*") if p.is_file()]
            assert set(made) <= set(files)
            # The other user reads by name, the way IT did, and sweeps the whole home.
            for path in files:
                attempt = as_user(other_user, f"cat '{path}'")
                assert attempt.returncode != 0 and b"Permission denied" in attempt.stderr
            sweep = as_user(
                other_user,
                f"find '{home}' -type f -exec cat {{}} + ; find '{home}' -type f -exec strings {{}} +",
            )
            read = sweep.stdout.decode("utf-8", "replace")
            assert control in read, "the sweep must be able to read what is readable"
            assert secret not in read
            assert secret[:20] not in read
        finally:
            learner.communicate(b"\n", timeout=60)
        assert learner.returncode == 0, learner.stderr
    finally:
        shutil.rmtree(home)
