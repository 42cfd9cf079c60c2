"""Widgets without a kernel: state restored from the store; forged messages change nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO, ManualClock, choice_button, click, comm_message, view

from courseware.store import SQLiteStore


def reflection(store: SQLiteStore) -> Any:
    """A reflection that saves on every change (no debounce), whatever event loop is around."""
    widget = view(store).reflection("first-thoughts")
    widget.autosave_delay = 0
    return widget


def test_vignette_path_is_saved_and_restored(store: SQLiteStore) -> None:
    first = view(store).vignette("waiting-room")
    click(choice_button(first, 0))
    assert first.walk.path == ["arrival", "listen"]
    assert "An open question" in first.feedback.value
    again = view(store).vignette("waiting-room")
    assert again.walk.path == ["arrival", "listen"]
    assert "daughter is in hospital" in again.scene.value
    assert "An open question" in again.feedback.value
    other = view(store, learner="ben").vignette("waiting-room")
    assert other.walk.path == ["arrival"]


def test_stale_or_forged_clicks_change_nothing(store: SQLiteStore) -> None:
    vignette = view(store).vignette("waiting-room")
    stale = choice_button(vignette, 1)  # "Tell her the doctor is running late", at arrival
    click(choice_button(vignette, 0))
    assert stale.comm is None  # buttons of a past node are closed...
    click(stale)  # ...and their handler refuses a click that reaches them anyway
    assert vignette.choose(1, at="arrival") is None
    assert vignette.choose(7, at="listen") is None  # not offered at all
    assert vignette.walk.path == ["arrival", "listen"]
    events = store.events(learner="ana", item="waiting-room")
    assert [e.value["to"] for e in events] == ["listen"]


def test_forged_state_update_cannot_relabel_or_enable_a_path(store: SQLiteStore) -> None:
    vignette = view(store).vignette("waiting-room")
    button = choice_button(vignette, 1)
    comm_message(
        button, {"method": "update", "state": {"description": "Acknowledge", "disabled": False}}
    )
    click(button)
    assert vignette.walk.path == ["arrival", "closed"]  # the button's own choice, nothing else
    assert vignette.walk.finished and list(vignette.choices.children) == []


def test_restart_starts_over_and_keeps_history(store: SQLiteStore) -> None:
    vignette = view(store).vignette("waiting-room")
    click(choice_button(vignette, 1))
    click(vignette.restart_button)
    assert vignette.walk.path == ["arrival"]
    assert view(store).vignette("waiting-room").walk.path == ["arrival"]
    kinds = [e.kind for e in store.events(item="waiting-room")]
    assert kinds == ["vignette.step", "vignette.restart"]


def test_reflection_saves_each_version_and_restores(store: SQLiteStore) -> None:
    widget = reflection(store)
    assert widget.text.value == ""
    widget.text.value = "I noticed her glance at the door."
    widget.text.value = "I noticed her glance at the door, twice."
    assert widget.save() is False  # unchanged since the last save
    restored = view(store).reflection("first-thoughts")
    assert restored.text.value == "I noticed her glance at the door, twice."
    texts = [e.value["text"] for e in store.events(item="first-thoughts")]
    assert texts == [
        "I noticed her glance at the door.",
        "I noticed her glance at the door, twice.",
    ]
    assert "8 words" in restored.words.value and "at least 20" in restored.words.value


def test_autosave_waits_for_a_pause_in_typing(store: SQLiteStore) -> None:
    clock = ManualClock()
    reflection = view(store).reflection("first-thoughts")
    reflection.autosave.timer = clock
    reflection.autosave_delay = 2.0
    for text in ["I", "I felt", "I felt uneasy"]:  # a keystroke every half second
        reflection.text.value = text
        clock.advance(0.5)
    assert store.events(item="first-thoughts") == []
    clock.advance(1.25)  # 1.75 s after the last keystroke: still waiting
    assert store.events(item="first-thoughts") == [] and reflection.autosave.pending
    clock.advance(0.25)  # a 2 s pause: saved, once, the last words
    assert [e.value["text"] for e in store.events(item="first-thoughts")] == ["I felt uneasy"]
    assert not reflection.autosave.pending


def test_pending_text_is_saved_when_the_kernel_exits(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    script = textwrap.dedent(f"""
        import asyncio
        from courseware.store import SQLiteStore
        from courseware.widgets import open_module
        async def main():
            r = open_module({str(DEMO)!r}, store=SQLiteStore({str(db)!r}), learner="ana").reflection("first-thoughts")
            r.autosave_delay = 60
            r.text.value = "last words before the kernel stopped"
        asyncio.run(main())
        """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with SQLiteStore(db) as s:
        assert [e.value["text"] for e in s.events()] == ["last words before the kernel stopped"]


def test_hostile_reflection_text_is_stored_intact(store: SQLiteStore) -> None:
    nasty = "<img src=x onerror=alert(1)> =cmd|' /C calc'!A0 " + "😀" * 250_000
    reflection(store).text.value = nasty
    assert view(store).reflection("first-thoughts").text.value == nasty


def test_author_html_is_escaped_in_rendered_markdown(store: SQLiteStore, tmp_path: Path) -> None:
    from courseware.widgets._common import markdown

    rendered = markdown("Hello <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert 'href="javascript' not in rendered


@pytest.mark.parametrize("method", ["overview", "references"])
def test_overview_and_references_render(store: SQLiteStore, method: str) -> None:
    html = getattr(view(store), method)().value
    assert ("Walk a short case." if method == "overview" else "Mercer SW") in html


def test_self_check_marks_restores_and_refuses_forgeries(store: SQLiteStore) -> None:
    check = view(store).self_check()
    assert check.answer("open-question", 0) is False
    assert "Not quite." in check.feedback["open-question"].value
    assert "How has this week been for you?" in check.feedback["open-question"].value
    buttons = [c for c in check.children if hasattr(c, "children") and c.children]
    right = check.orders["open-question"].index(1)  # where this learner sees option 1
    click(buttons[-1].children[right])  # the right option, through the comm path
    assert "Correct." in check.feedback["open-question"].value
    assert check.answer("open-question", 5) is None  # not an option
    assert check.answer("no-such-question", 0) is None
    answers = [e.value for e in store.events(item="self-check/open-question")]
    assert answers == [{"choice": 0, "correct": False}, {"choice": 1, "correct": True}]
    again = view(store).self_check()
    assert "Correct." in again.feedback["open-question"].value
