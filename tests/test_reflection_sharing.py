"""Sharing a reflection with the tutor: explicit, snapshot-only, withdrawable; submitting is final.

The widget is driven as the browser drives it (button clicks through the comm layer), on the real
SQLite store. What a tutor then sees is decided by the service's own rule, ``visible_to_others``,
applied here to the stored rows (the real hub runs it in test_hub_share.py).
"""

from __future__ import annotations

import json
import time

from helpers import click, view

from courseware.hub._app import visible_to_others
from courseware.hub._db import EventRow
from courseware.store import SQLiteStore
from courseware.widgets import Reflection
from courseware.widgets._common import Context

SHARING = ("reflection.shared", "reflection.unshared", "reflection.submitted")


def tutor_sees(store: SQLiteStore) -> list[tuple[str, str]]:
    """(kind, text) of ana's rows the tutor may read, by the service's rule."""
    rows = [
        EventRow(e.id or 0, e.learner, e.module, e.item, e.kind, e.value_json(), e.time, 1, None)
        for e in store.events(learner="ana")
    ]
    withdrawals = [r for r in rows if r.kind == "reflection.unshared"]
    return [
        (r.kind, str(json.loads(r.value).get("text")))
        for r in visible_to_others(rows, withdrawals)
        if r.kind.startswith("reflection.")
    ]


def reflection(store: SQLiteStore) -> Reflection:
    """The demo module's reflection with sharing on (as on a hub), saving on every change."""
    module = view(store)
    prompt = module.content.reflection("first-thoughts")
    return Reflection(
        prompt, Context(store, "ana", module.content.id), autosave_delay=0, sharing=True
    )


def sharing_kinds(store: SQLiteStore) -> list[str]:
    return [e.kind for e in store.events(learner="ana") if e.kind in SHARING]


def test_nothing_is_shared_by_default(store: SQLiteStore) -> None:
    widget = reflection(store)
    widget.text.value = "My private first thoughts."
    widget.save()
    assert sharing_kinds(store) == [] and tutor_sees(store) == []
    assert "Private: only you can see this reflection." in widget.sharing_status.value
    assert "cannot see your drafts" in widget.children[-1].children[0].value
    assert widget.unshare_button.layout.display == "none"


def test_share_shows_a_snapshot_not_later_edits_and_stop_sharing_withdraws_it(
    store: SQLiteStore,
) -> None:
    widget = reflection(store)
    widget.text.value = "The version I choose to share."
    click(widget.share_button)
    assert sharing_kinds(store) == ["reflection.shared"]
    assert tutor_sees(store) == [("reflection.shared", "The version I choose to share.")]
    stamp = time.localtime(store.events(kind="reflection.shared")[0].time)
    expected = f"{stamp.tm_mday} {time.strftime('%b at %H:%M', stamp)}"
    assert (
        f"Shared with your tutor on {expected} — the version you shared, not later edits."
        in widget.sharing_status.value
    )
    assert "role='status'" in widget.sharing_status.value  # announced, focus stays put
    widget.text.value = "A later edit, still private."
    assert tutor_sees(store) == [("reflection.shared", "The version I choose to share.")]
    assert "changed it since" in widget.sharing_status.value
    # Reloaded (a new page): the state is read back from the store.
    again = reflection(store)
    assert "Shared with your tutor on" in again.sharing_status.value
    assert again.unshare_button.layout.display is None
    click(again.unshare_button)
    assert tutor_sees(store) == []
    assert "you stopped sharing" in again.sharing_status.value
    # Sharing again shows the new version only.
    click(again.share_button)
    assert tutor_sees(store) == [("reflection.shared", "A later edit, still private.")]


def test_an_empty_reflection_cannot_be_shared_or_submitted(store: SQLiteStore) -> None:
    widget = reflection(store)
    click(widget.share_button)
    assert "nothing to share" in widget.sharing_status.value
    click(widget.submit_button)
    click(widget.confirm_button)
    assert sharing_kinds(store) == []


def test_submitting_asks_for_confirmation_and_is_final(store: SQLiteStore) -> None:
    widget = reflection(store)
    widget.text.value = "What I hand in."
    click(widget.submit_button)  # asks first
    assert sharing_kinds(store) == [] and widget.confirm_box.layout.display is None
    assert "Submitting is final" in widget.confirm_text.value
    click(widget.cancel_button)
    assert sharing_kinds(store) == [] and widget.confirm_box.layout.display == "none"
    click(widget.submit_button)
    click(widget.confirm_button)
    assert sharing_kinds(store) == ["reflection.submitted"]
    assert "Submitted to your tutor on" in widget.sharing_status.value
    for button in (widget.share_button, widget.unshare_button, widget.submit_button):
        assert button.layout.display == "none"
    # Final: forged clicks (ipywidgets runs handlers of hidden buttons) change nothing, and
    # the learner's later writing is saved, privately.
    for button in (widget.share_button, widget.unshare_button, widget.confirm_button):
        click(button)
    widget.text.value = "Rewritten after submitting."
    assert sharing_kinds(store) == ["reflection.submitted"]
    assert tutor_sees(store) == [("reflection.submitted", "What I hand in.")]
    assert "Later edits stay private" in widget.sharing_status.value
    restored = reflection(store)
    assert restored.text.value == "Rewritten after submitting."
    assert "Submitted to your tutor on" in restored.sharing_status.value
    assert restored.submit_button.layout.display == "none"


def test_every_sharing_control_is_labelled(store: SQLiteStore) -> None:
    widget = reflection(store)
    for button in (
        widget.share_button,
        widget.unshare_button,
        widget.submit_button,
        widget.confirm_button,
        widget.cancel_button,
    ):
        assert button.description.strip() and button.tooltip.strip()


def test_no_sharing_where_no_tutor_can_read(store: SQLiteStore) -> None:
    """In a learner's own SQLite file (a laptop) there is no tutor: no buttons, nothing written."""
    widget = view(store).reflection("first-thoughts")
    assert widget.sharing is False
    assert widget.sharing_box not in widget.children
    widget.text.value = "Written on a laptop."
    assert not widget.share() and not widget.submit(confirmed=True)
    assert sharing_kinds(store) == []
