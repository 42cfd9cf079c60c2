"""ServiceStore with no service reachable: the outbox keeps everything, in order, on disk.

(Delivery to a real service, restarts and refusals run on a real hub in test_hub_service.py.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from courseware.store import (
    MAX_VALUE_BYTES,
    Event,
    Outbox,
    ServiceError,
    ServiceStore,
    ServiceUnavailable,
    event_fields,
    open_store,
)

from conftest import FIXTURES, REPO, free_port


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
        ({"item": "\ud800"}, "event.item: is not valid Unicode"),
        ({"time": float("inf")}, "event.time: must be a number"),
        ({"key": "a\0b"}, "event.key: contains a NUL"),
        ({"schema": -1}, "event.schema: must be 0 to"),
    ],
)
def test_wire_format_errors_name_the_field(change: dict[str, object], message: str) -> None:
    good = {"learner": "ana", "module": "m", "item": "i", "kind": "k", "value": 1, "time": 1.0}
    assert event_fields(good, "event")["schema"] == 1
    with pytest.raises(ValueError, match=message):
        event_fields({**good, **change}, "event")


DEMO = FIXTURES / "modules" / "demo"


def deep(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "schema", "message"),
    [
        ({"text": "ok"}, 2**31, r"event\.schema: must be 0 to 2147483647"),
        ({"text": "x" * (MAX_VALUE_BYTES + 1)}, 1, r"event\.value: 2,097,1\d\d bytes as JSON"),
        (deep(990), 1, r"event\.value: nested deeper than 32"),
        ({"text": "a\ud800"}, 1, r"event\.value\.text: is not valid Unicode"),
        ({"\udfff": 1}, 1, r"event\.value: a key is not valid Unicode"),
        ({"score": float("nan")}, 1, r"event\.value\.score: must be a finite number"),
        ({"n": 2**64}, 1, r"event\.value\.n: integer out of range"),
        ({"when": object()}, 1, r"event\.value\.when: object is not a JSON value"),
    ],
)
def test_append_refuses_what_the_service_could_never_store(
    offline: ServiceStore, value: object, schema: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        offline.append(Event("ana", "m", "r", "reflection.saved", value, schema=schema))
    assert offline.pending() == 0 and offline.set_aside() == 0


def _legacy_row(path: Path, service: str, key: str, value: str, schema: int = 1) -> None:
    """A row as an older courseware wrote it, before append() checked events."""
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO outbox (service, key, learner, module, item, kind, value, time, schema)"
            " VALUES (?, ?, 'ana', 'm', 'r', 'reflection.saved', ?, 1.0, ?)",
            (service, key, value, schema),
        )


def test_an_unsendable_legacy_row_is_set_aside_and_the_learner_told(
    offline: ServiceStore, tmp_path: Path
) -> None:
    path, service = tmp_path / "outbox.sqlite", offline.outbox.service
    offline.append(Event("ana", "m", "r", "reflection.saved", {"text": "before"}))
    _legacy_row(path, service, "deep", "[" * 990 + "]" * 990)  # crashed json.loads in pending()
    _legacy_row(path, service, "big-schema", '{"text": "x"}', schema=2**31)
    offline.append(Event("ana", "m", "r", "reflection.saved", {"text": "after"}))
    batch = offline.outbox.pending()
    assert [event["value"] for _, event in batch] == [{"text": "before"}, {"text": "after"}]
    assert offline.pending() == 2 and offline.set_aside() == 2
    note = offline.delivery_note()
    assert note is not None and note.startswith("2 saves could not be sent") and str(path) in note
    # Set aside, never deleted: the readable ones still read back; the unreadable is skipped.
    assert len(offline.events(learner="ana")) == 3


def test_outbox_batches_stay_under_the_body_limit(offline: ServiceStore) -> None:
    text = "y" * (MAX_VALUE_BYTES - 100)
    for _ in range(4):
        offline.append(Event("ana", "m", "r", "reflection.saved", {"text": text}))
    sizes = []
    while batch := offline.outbox.pending():
        sizes.append(len(batch))
        offline.outbox.delivered([seq for seq, _ in batch], [1] * len(batch))
    assert sizes == [1, 1, 1, 1]  # two near-limit values would pass MAX_REQUEST_BYTES


def test_reflection_too_long_to_store_keeps_the_text_and_says_why(offline: ServiceStore) -> None:
    from courseware.widgets import open_module

    widget = open_module(DEMO, store=offline, learner="ana").reflection("first-thoughts")
    widget.autosave_delay = 0
    pasted = "A very long paste. " * 200_000  # 3.8 MB
    widget.text.value = pasted  # saves at once (no autosave delay)
    assert widget.save() is False
    assert widget.text.value == pasted  # the learner's text stays where they wrote it
    assert "Not saved: event.value:" in widget.status.value and "still here" in widget.status.value
    assert offline.pending() == 0
    widget.text.value = "A shorter reflection."
    assert "Saved at" in widget.status.value and offline.pending() == 1


def test_notes_too_long_to_store_stay_in_their_box(offline: ServiceStore) -> None:
    from courseware.widgets import open_module

    chart = open_module(REPO / "docs" / "widget-gallery", store=offline, learner="ana").exercise(
        "parallel-chart"
    )
    chart.autosave_delay = 0
    first = next(iter(chart.boxes))
    chart.boxes[first].value = "A first note."
    assert offline.pending() == 1 and "Saved at" in chart.status.value
    pasted = "Notes pasted with accents: é. " * 60_000  # 1.8 million characters, 1.9 MB
    pasted += "é" * 150_000  # over 2 MiB as UTF-8, under the 2 million characters a box holds
    chart.boxes[first].value = pasted  # saves at once (no autosave delay)
    assert chart.boxes[first].value == pasted  # the learner's text stays where they wrote it
    assert "Not saved: event.value:" in chart.status.value
    assert offline.pending() == 1 and chart.attempt.notes == {first: "A first note."}
