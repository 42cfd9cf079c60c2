"""ServiceStore with no service reachable: the outbox keeps everything, in order, on disk.

(Delivery to a real service, restarts and refusals run on a real hub in test_hub_service.py.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from courseware.store import (
    Event,
    ServiceError,
    ServiceStore,
    ServiceUnavailable,
    open_store,
)
from courseware.store._service import Outbox, event_fields

from conftest import free_port


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceStore]:
    """A store whose service port has nothing listening (a stopped service)."""
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "not-a-real-token")
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    monkeypatch.setenv("COURSEWARE_OUTBOX", str(tmp_path / "outbox.sqlite"))
    url = f"courseware+http://127.0.0.1:{free_port()}/services/courseware/"
    store = open_store(url)
    assert isinstance(store, ServiceStore)
    yield store
    store.close()


def test_saves_are_kept_and_readable_while_the_service_is_away(offline: ServiceStore) -> None:
    started = time.monotonic()
    ids = [offline.append(Event("ana", "m", "r", "reflection.saved", {"text": t})) for t in "abc"]
    assert time.monotonic() - started < 3
    assert all(i < 0 for i in ids) and ids == sorted(ids, reverse=True)
    assert offline.pending() == 3
    latest = offline.latest(learner="ana", module="m", item="r", kind="reflection.saved")
    assert latest is not None and latest.value == {"text": "c"}
    assert [e.value["text"] for e in offline.events(learner="ana")] == ["a", "b", "c"]
    with pytest.raises(ServiceUnavailable, match="only your own"):
        offline.events(learner="ben")


def test_outbox_survives_the_kernel(offline: ServiceStore, tmp_path: Path) -> None:
    offline.append(Event("ana", "m", "r", "reflection.saved", {"text": "kept"}))
    offline.close()  # the kernel shuts down with the service still away
    again = ServiceStore(offline.url, outbox=tmp_path / "outbox.sqlite")
    try:
        assert again.pending() == 1
        assert again.events(learner="ana")[0].value == {"text": "kept"}
    finally:
        again.close()


def test_a_kernel_saves_only_for_its_own_learner(offline: ServiceStore) -> None:
    with pytest.raises(PermissionError, match="belongs to 'ana'"):
        offline.append(Event("ben", "m", "r", "reflection.saved", {"text": "x"}))
    with pytest.raises(ValueError, match=r"event\.module: contains a NUL"):
        offline.append(Event("ana", "m\0", "r", "reflection.saved", {}))
    assert offline.pending() == 0


def test_no_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    monkeypatch.delenv("JPY_API_TOKEN", raising=False)
    with pytest.raises(ServiceError, match="JUPYTERHUB_API_TOKEN is not set"):
        ServiceStore("courseware+http://127.0.0.1:1/")
    monkeypatch.delenv("COURSEWARE_SERVICE_URL", raising=False)
    with pytest.raises(ServiceError, match="COURSEWARE_SERVICE_URL"):
        open_store("hub-service")


def test_one_sender_at_a_time_keeps_order(tmp_path: Path) -> None:
    first = Outbox(tmp_path / "o.sqlite", "http://x/")
    second = Outbox(tmp_path / "o.sqlite", "http://x/")  # another kernel, same home
    results: list[bool] = []
    with first.sending() as mine:
        assert mine
        thread = threading.Thread(target=lambda: results.append(second.sending().__enter__()))
        thread.start()
        thread.join()
    assert results == [False]
    with second.sending() as mine:
        assert mine
    first.close()
    second.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learner": ""}, "event.learner: is empty"),
        ({"time": True}, "event.time: must be a number"),
        ({"time": float("nan")}, "event.time: must be a number"),
        ({"key": ""}, "event.key: must be a string of 1 to 100"),
        ({"item": "x" * 201}, "event.item: longer than 200"),
    ],
)
def test_wire_format_errors_name_the_field(change: dict[str, object], message: str) -> None:
    good = {"learner": "ana", "module": "m", "item": "i", "kind": "k", "value": 1, "time": 1.0}
    assert event_fields(good, "event")["schema"] == 1
    with pytest.raises(ValueError, match=message):
        event_fields({**good, **change}, "event")
