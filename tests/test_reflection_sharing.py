"""Sharing a reflection with the tutor: explicit, snapshot-only, withdrawable; submitting is final.

The widget is driven as the browser drives it (button clicks through the comm layer), on the real
SQLite store. What a tutor then sees is decided by the service's own rule, ``visible_to_others``,
applied here to the stored rows (the real hub runs it in test_hub_share.py).
"""

from __future__ import annotations

import json
import time

from test_widgets import click, reflection, view

from courseware.hub._app import visible_to_others
from courseware.hub._db import EventRow
from courseware.store import SQLiteStore

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
    again = view(store).reflection("first-thoughts")
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
    assert all(box.disabled for box in widget.boxes.values())
    # Final: forged clicks and edits (ipywidgets runs handlers of hidden buttons) change nothing.
    for button in (widget.share_button, widget.unshare_button, widget.confirm_button):
        click(button)
    widget.text.value = "Rewritten after submitting."
    widget.save()
    assert sharing_kinds(store) == ["reflection.submitted"]
    assert tutor_sees(store) == [("reflection.submitted", "What I hand in.")]
    restored = view(store).reflection("first-thoughts")
    assert restored.text.disabled and restored.text.value == "What I hand in."
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
