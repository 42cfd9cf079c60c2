"""The service's database on a real PostgreSQL (and SQLite): migrations, order, idempotency."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import psycopg
import pytest

from courseware.hub import MIGRATIONS, BatchWriter, SchemaTooNew, open_database
from courseware.hub._db import Database, KeyConflict, NewEvent
from courseware.store import Event
from courseware.store._sql import SQLAlchemyStore

from conftest import run_coroutine

_names = count()


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.sqlite'}"
    else:
        postgres = request.getfixturevalue("postgres")
        yield postgres.create_database(f"migrations_{next(_names)}")


def run(coroutine: Any) -> Any:
    return run_coroutine(coroutine)


async def _with_db(url: str, work: Any) -> Any:
    db = open_database(url)
    await db.open()
    try:
        return await work(db)
    finally:
        await db.close()


def new(learner: str, n: int, key: str | None) -> NewEvent:
    return NewEvent(learner, "m", "r", "reflection.saved", json.dumps({"n": n}), float(n), 1, key)


def test_fresh_database_migrates_to_the_latest_version_once(database_url: str) -> None:
    async def work(db: Database) -> tuple[int, int, int]:
        return await db.migrate(), await db.migrate(), await db.schema_version()

    assert run(_with_db(database_url, work)) == (MIGRATIONS[-1].version,) * 3


def test_foundation_store_is_upgraded_in_place(postgres: Any) -> None:
    """A deployment that began with SQLAlchemyStore on PostgreSQL keeps every row."""
    url = postgres.create_database(f"upgrade_{next(_names)}")
    old = SQLAlchemyStore(url.replace("postgresql://", "postgresql+psycopg://"))
    for text in ("before the service", "second"):
        old.append(Event("ana", "m", "r", "reflection.saved", {"text": text}))
    old.close()

    async def work(db: Database) -> list[Any]:
        assert await db.migrate() == MIGRATIONS[-1].version
        await db.insert_events([new("ana", 3, "k3")])
        return await db.select_events(learners=["ana"])

    found = run(_with_db(url, work))
    assert [json.loads(r.value) for r in found] == [
        {"text": "before the service"},
        {"text": "second"},
        {"n": 3},
    ]
    assert [r.key for r in found] == [None, None, "k3"]
    # The foundation's store still reads (and writes) the same table afterwards.
    again = SQLAlchemyStore(url.replace("postgresql://", "postgresql+psycopg://"))
    assert len(again.events(learner="ana")) == 3
    again.close()


def test_concurrent_migrators_apply_each_step_once(postgres: Any) -> None:
    url = postgres.create_database(f"race_{next(_names)}")

    async def both() -> list[int]:
        dbs = [open_database(url) for _ in range(3)]
        for db in dbs:
            await db.open()
        try:
            return list(await asyncio.gather(*(db.migrate() for db in dbs)))
        finally:
            for db in dbs:
                await db.close()

    assert run(both()) == [MIGRATIONS[-1].version] * 3
    with psycopg.connect(url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM courseware_schema")]
    assert sorted(versions) == [m.version for m in MIGRATIONS]


def test_a_newer_schema_is_refused_with_a_clear_message(database_url: str) -> None:
    async def work(db: Database) -> None:
        await db.migrate()
        await db._fetch(
            "INSERT INTO courseware_schema (version, description, applied) VALUES (%s, %s, %s)",
            (999, "from the future", 0.0),
        )
        with pytest.raises(SchemaTooNew, match=r"version 999.*upgrade courseware"):
            await db.migrate()

    run(_with_db(database_url, work))


def test_batches_keep_order_and_resends_are_stored_once(database_url: str) -> None:
    async def work(db: Database) -> tuple[list[int], list[int], list[Any]]:
        await db.migrate()
        first = await db.insert_events([new("ana", n, f"k{n}") for n in range(5)])
        # A resend of 3 and 4 (their reply was lost) plus new 5, and a repeat within the batch.
        second = await db.insert_events(
            [new("ana", 3, "k3"), new("ana", 4, "k4"), new("ana", 5, "k5"), new("ana", 5, "k5")]
        )
        return first, second, await db.select_events(learners=["ana"])

    first, second, stored = run(_with_db(database_url, work))
    assert first == sorted(first) and len(set(first)) == 5
    assert second[:2] == first[3:] and second[2] == second[3] > first[-1]
    assert [json.loads(r.value)["n"] for r in stored] == [0, 1, 2, 3, 4, 5]


def test_same_key_for_different_learners_is_not_a_duplicate(database_url: str) -> None:
    async def work(db: Database) -> list[int]:
        await db.migrate()
        return await db.insert_events([new("ana", 1, "same"), new("ben", 1, "same")])

    ids = run(_with_db(database_url, work))
    assert ids[0] != ids[1]


def test_unsupported_database_url_is_named() -> None:
    with pytest.raises(ValueError, match="unsupported database URL mysql://"):
        open_database("mysql://u:p@h/db")


def test_a_key_reused_for_other_content_is_a_conflict_not_a_duplicate(database_url: str) -> None:
    async def work(db: Database) -> tuple[list[int | None], list[int | None], list[Any]]:
        await db.migrate()
        first = await db.insert_events([new("ana", 1, "k1")])
        again = await db.insert_events(
            [new("ana", 1, "k1"), new("ana", 2, "k1"), new("ana", 3, "k3")]
        )
        return first, again, await db.select_events(learners=["ana"])

    first, again, stored = run(_with_db(database_url, work))
    assert again[0] == first[0]  # the same event resent: its id
    assert again[1] is None  # the same key, other content: a conflict, nothing stored
    assert again[2] is not None and again[2] > first[0]
    assert [json.loads(r.value)["n"] for r in stored] == [1, 3]


def test_one_requests_bad_events_fail_only_that_request(postgres: Any) -> None:
    """Group commit on PostgreSQL: an event the database refuses (here one that skipped the
    service's checks) fails its own request; the others queued with it are stored."""
    url = postgres.create_database(f"writer_{next(_names)}")

    async def work(db: Database) -> list[Any]:
        await db.migrate()
        writer = BatchWriter(db)
        writer.start()
        bad = NewEvent("hal", "m", "r", "k", "1", 1.0, 2**31, None)  # beyond INTEGER
        results = await asyncio.gather(
            writer.write([new("ana", 1, "a1")]),
            writer.write([new("hal", 1, "h1"), bad]),
            writer.write([new("ben", 1, "b1"), new("ben", 2, "b2")]),
            return_exceptions=True,
        )
        await writer.stop()
        return [*results, await db.select_events()]

    ana, hal, ben, stored = run(_with_db(url, work))
    assert isinstance(hal, Exception)
    assert len(ana) == 1 and len(ben) == 2
    assert sorted(r.learner for r in stored) == ["ana", "ben", "ben"]


def test_a_request_with_a_conflicting_key_stores_none_of_its_events(database_url: str) -> None:
    """Group commit, both dialects: the request reusing a key for other content (or using one
    key twice within itself) gets a KeyConflict naming that event and stores nothing; the
    requests committed with it are stored, in order."""

    async def work(db: Database) -> tuple[list[Any], list[Any]]:
        await db.migrate()
        await db.insert_events([new("hal", 1, "used")])
        results = await db.insert_requests(
            [
                [new("ana", 1, "a1")],
                [new("hal", 2, None), new("hal", 3, "used")],  # "used" held other content
                [new("ben", 1, "b1"), new("ben", 2, "b2")],
                [new("hal", 4, "twice"), new("hal", 5, "twice")],  # one key, two contents
                [new("hal", 1, "used")],  # a resend of what "used" holds: its id
            ]
        )
        return results, await db.select_events()

    results, stored = run(_with_db(database_url, work))
    ana, hal, ben, twice, resend = results
    assert isinstance(hal, KeyConflict) and hal.index == 1
    assert isinstance(twice, KeyConflict) and twice.index == 1
    assert len(ana) == 1 and len(ben) == 2 and ben[0] < ben[1]
    assert [(r.learner, json.loads(r.value)["n"]) for r in stored] == [
        ("hal", 1),
        ("ana", 1),
        ("ben", 1),
        ("ben", 2),
    ]
    assert resend == [stored[0].id]
