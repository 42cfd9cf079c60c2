"""The store: append-only events, the latest answer as a view, nothing lost under concurrency."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from courseware.store import Event, SQLiteStore, Store, current_learner, open_store


@pytest.fixture(params=["sqlite", "sqlalchemy"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s: Store = SQLiteStore(tmp_path / "r.sqlite")
    else:
        from courseware.store._sql import SQLAlchemyStore

        s = SQLAlchemyStore(f"sqlite+pysqlite:///{tmp_path / 'r.sqlite'}")
    yield s
    s.close()


def test_append_keeps_every_version_and_latest_is_newest(any_store: Store) -> None:
    for text in ["first", "second", "third"]:
        any_store.append(Event("ana", "m1", "r1", "reflection.saved", {"text": text}))
    any_store.append(Event("ben", "m1", "r1", "reflection.saved", {"text": "ben's"}))
    mine = any_store.events(learner="ana", module="m1", item="r1")
    assert [e.value["text"] for e in mine] == ["first", "second", "third"]
    latest = any_store.latest(learner="ana", module="m1", item="r1", kind="reflection.saved")
    assert latest is not None and latest.value == {"text": "third"} and latest.schema == 1
    ids = [e.id for e in mine]
    assert ids == sorted(ids)


def test_revision_changes_with_every_save_of_that_learner_only(any_store: Store) -> None:
    """What a server compares before handing out a kernel that read the saves earlier."""
    empty = any_store.revision("ana")
    assert empty == (0, 0)
    any_store.append(Event("ana", "m1", "r1", "reflection.saved", {"text": "one"}))
    first = any_store.revision("ana")
    assert first is not None and first != empty
    any_store.append(Event("ben", "m2", "r1", "reflection.saved", {"text": "his"}))
    assert any_store.revision("ana") == first, "another learner's save changes nothing of ana's"
    newest = any_store.append(Event("ana", "m2", "x", "exercise.answered", {"a": 1}))
    assert any_store.revision("ana") == (2, newest)


def test_kind_prefix_filter(any_store: Store) -> None:
    any_store.append(Event("ana", "m", "v", "vignette.step", {"choice": 0}))
    any_store.append(Event("ana", "m", "v", "vignette.restart", {}))
    any_store.append(Event("ana", "m", "v", "vignettes_other", {}))
    kinds = [e.kind for e in any_store.events(learner="ana", kind_prefix="vignette.")]
    assert kinds == ["vignette.step", "vignette.restart"]


def test_hostile_and_huge_text_round_trips(any_store: Store) -> None:
    nasty = "<script>alert('x')</script>\n=HYPERLINK(\"http://x\")\0 😀 \u202e ﷽ " + "é" * 1_000_000
    any_store.append(Event("ana", "m", "r", "reflection.saved", {"text": nasty}))
    (event,) = any_store.events(learner="ana")
    assert event.value["text"] == nasty


def _writer(path: str, learner: str, count: int) -> None:
    with SQLiteStore(path) as s:
        for i in range(count):
            s.append(Event(learner, "m", "r", "reflection.saved", {"n": i}))


def test_concurrent_kernels_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SQLiteStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, "ana", 150)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with SQLiteStore(path) as s:
        events = s.events(learner="ana")
    assert len(events) == 600
    assert sorted(e.value["n"] for e in events) == sorted(list(range(150)) * 4)


def test_open_store_uses_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSEWARE_STORE", str(tmp_path / "env.sqlite"))
    with open_store() as s:
        assert isinstance(s, SQLiteStore) and s.path == tmp_path / "env.sqlite"
    with open_store(f"sqlite:///{tmp_path / 'url.sqlite'}") as s:
        assert isinstance(s, SQLiteStore) and s.path == tmp_path / "url.sqlite"


def test_default_location_is_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSEWARE_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with open_store() as s:
        assert isinstance(s, SQLiteStore)
        assert s.path == tmp_path / "courseware" / "responses.sqlite"
        assert s.path.exists()


def test_learner_is_hub_user_else_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "student-42")
    assert current_learner() == "student-42"
    monkeypatch.delenv("JUPYTERHUB_USER")
    import getpass

    assert current_learner() == getpass.getuser()
