"""Exercise widgets without a kernel: each is a view over rules in ``courseware.content``, saves to
the store, restores on reload, and refuses forged browser messages (delivered through the comm
message path, as the kernel delivers them)."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest
from helpers import choice_button, click, comm_message

from courseware.content import load_module
from courseware.content._attempts import LikertAttempt, TimedAttempt
from courseware.store import SQLiteStore
from courseware.widgets import (
    CloseReading,
    ComposeResponse,
    CueSpotting,
    LikertScale,
    ModuleView,
    ParallelChart,
    ResponseChoice,
    TimedWrite,
    open_module,
)

from conftest import REPO

GALLERY = REPO / "docs" / "widget-gallery"


def gallery(store: SQLiteStore, learner: str = "ana") -> ModuleView:
    return open_module(GALLERY, store=store, learner=learner)


def exercise(store: SQLiteStore, exercise_id: str, **options: Any) -> Any:
    view = gallery(store).exercise(exercise_id, **options)
    if hasattr(view, "autosave_delay"):
        view.autosave_delay = 0  # save on every change, whatever event loop is around
    return view


def type_into(widget: Any, text: str) -> None:
    comm_message(widget, {"method": "update", "state": {"value": text}})


def kinds(store: SQLiteStore, item: str) -> list[str]:
    return [e.kind for e in store.events(item=item)]


def test_every_exercise_type_has_a_widget(store: SQLiteStore) -> None:
    module = gallery(store)
    shown = {type(module.exercise(i)).__name__ for i in module.content.exercises}
    assert shown == {
        "ResponseChoice",
        "ComposeResponse",
        "CueSpotting",
        "LikertScale",
        "TimedWrite",
        "CloseReading",
        "ParallelChart",
    }


def test_response_choice_locks_the_first_pick(store: SQLiteStore) -> None:
    view: ResponseChoice = exercise(store, "first-reply")
    worst = next(i for i, o in enumerate(view.spec.options) if not o.best)
    click(view.buttons[worst])
    assert view.attempt.picked == worst
    assert "Not the strongest reply" in view.feedback.value
    assert "Technique:" in view.feedback.value  # named in words, not shown by colour
    click(view.buttons[0])  # a second pick (a forged click on a disabled button)
    assert view.pick(99) is False and view.pick(-1) is False
    restored: ResponseChoice = exercise(store, "first-reply")
    assert restored.attempt.picked == worst and all(b.disabled for b in restored.buttons)
    assert "Your choice" in restored.all_feedback.value
    assert [e.value["option"] for e in store.events(item="first-reply")] == [worst]


def test_forged_relabel_cannot_change_what_a_button_picks(store: SQLiteStore) -> None:
    view: ResponseChoice = exercise(store, "first-reply")
    comm_message(view.buttons[2], {"method": "update", "state": {"description": "x"}})
    click(view.buttons[2])
    assert view.attempt.picked == 2


def test_compose_response_write_submit_code_review(store: SQLiteStore) -> None:
    view: ComposeResponse = exercise(store, "compose-reply")
    assert view.attempt.stage == "write" and view.coding.layout.display == "none"
    assert view.act("compose.code", {"codes": ["naming"]}) is False  # before submitting
    type_into(view.text, "That sounds exhausting.")
    type_into(view.text, "That sounds exhausting. What is a normal week like?")
    click(view.submit_button)
    assert view.attempt.stage == "code"
    type_into(view.text, "an edit after submitting")  # forged: the box is disabled
    assert view.attempt.text == "That sounds exhausting. What is a normal week like?"
    assert view.act("compose.code", {"codes": ["hugging"]}) is False  # not offered
    comm_message(view.code_boxes["naming"], {"method": "update", "state": {"value": True}})
    comm_message(view.code_boxes["exploring"], {"method": "update", "state": {"value": True}})
    click(view.code_button)
    assert view.attempt.codes == ["naming", "exploring"]
    assert view.act("compose.code", {"codes": []}) is False  # locked
    assert "Naming (NURSE), Exploring (NURSE)" in view.replies.value
    assert view.reveal.layout.visibility is None
    restored: ComposeResponse = exercise(store, "compose-reply")
    assert restored.attempt.stage == "review" and restored.text.disabled
    assert restored.text.value.endswith("What is a normal week like?")
    assert kinds(store, "compose-reply") == [
        "compose.draft",
        "compose.draft",
        "compose.submit",
        "compose.code",
    ]


def test_empty_reply_cannot_be_submitted(store: SQLiteStore) -> None:
    view: ComposeResponse = exercise(store, "compose-reply")
    type_into(view.text, "   ")
    click(view.submit_button)
    assert view.attempt.stage == "write"


def test_cue_spotting_scores_hits_misses_and_false_alarms(store: SQLiteStore) -> None:
    view: CueSpotting = exercise(store, "spot-the-cues")
    key = sorted(view.spec.key)
    marked = [key[0], 2]  # one real cue and one false alarm (line 2 is a fact, not a cue)
    for number in marked:
        comm_message(view.boxes[number - 1], {"method": "update", "state": {"value": True}})
    assert view.attempt.marked == frozenset(marked)
    again: CueSpotting = exercise(store, "spot-the-cues")
    assert again.marked() == sorted(marked)  # marks restore before submitting
    click(again.submit_button)
    assert again.attempt.hits == [key[0]]
    assert again.attempt.misses == key[1:]
    assert again.attempt.false_alarms == [2]
    assert f"You found 1 of {len(key)} cues" in again.result.value
    assert "✗ Cue missed" in again.explanations.value  # words and a mark, not colour
    comm_message(again.boxes[key[1] - 1], {"method": "update", "state": {"value": True}})
    assert again.act("cues.submit", {"lines": key}) is False
    assert exercise(store, "spot-the-cues").attempt.marked == frozenset(marked)
    assert view.act("cues.marks", {"lines": [999]}) is False


def answer_all(view: LikertScale, value: int) -> None:
    for select in view.selects.values():
        index = [v for _, v in select.options].index(value)
        comm_message(select, {"method": "update", "state": {"index": index}})


def test_likert_drafts_restore_and_submission_is_the_documented_event(
    store: SQLiteStore,
) -> None:
    view: LikertScale = exercise(store, "confidence")
    first = next(iter(view.selects.values()))
    comm_message(first, {"method": "update", "state": {"index": 3}})
    assert view.attempt.answers == {"1": 4}
    assert exercise(store, "confidence").attempt.answers == {"1": 4}  # resumable
    assert view.submit() is False  # seven items still unanswered
    answer_all(view, 2)
    assert view.submit() is True
    (answer,) = store.events(kind="likert.answer")
    assert answer.item == "communication-confidence" and answer.module == "widget-gallery"
    assert answer.value == {
        "instrument": "communication-confidence",
        "wave": "pre",
        "answers": {str(i): 2 for i in range(1, 9)},
    }
    comm_message(first, {"method": "update", "state": {"index": 4}})  # forged: locked
    assert view.act("likert.draft", view.attempt.value({"1": 5})) is False
    restored: LikertScale = exercise(store, "confidence")
    assert restored.attempt.locked and all(s.disabled for s in restored.selects.values())
    assert "Your total: <strong>16</strong>" in restored.summary.value
    later: LikertScale = exercise(store, "confidence", wave="post")  # another wave, unlocked
    assert not later.attempt.locked and later.attempt.answers == {}


def test_likert_refuses_unknown_items_values_and_waves(store: SQLiteStore) -> None:
    view: LikertScale = exercise(store, "confidence")
    value = view.attempt.value
    assert view.act("likert.draft", value({"99": 3})) is False
    assert view.act("likert.draft", value({"1": 6})) is False
    assert view.act("likert.draft", value({"1": "na"})) is False  # no "does not apply" here
    assert view.act("likert.draft", value({"1": True})) is False
    assert view.act("likert.draft", {**value({"1": 3}), "wave": "post"}) is False
    assert view.act("likert.answer", value({str(i): 3 for i in range(1, 9)})) is True


def test_timed_write_clock_survives_a_reload(store: SQLiteStore) -> None:
    view: TimedWrite = exercise(store, "waiting-write")
    assert view.text.disabled and "starts when you press Start" in view.clock.value
    assert view.act("timed.draft", {"text": "too soon"}) is False
    click(view.start_button)
    started = view.attempt.started_at
    assert started is not None and not view.text.disabled
    type_into(view.text, "The corridor was green.")
    restored: TimedWrite = exercise(store, "waiting-write")
    assert restored.attempt.started_at == pytest.approx(started, abs=0.5)
    assert restored.text.value == "The corridor was green."
    assert "4 words" in restored.words.value
    assert restored.attempt.remaining(started + 60) == pytest.approx(120)
    assert restored.act("timed.start", {}) is False  # the clock cannot be reset
    click(restored.submit_button)
    assert restored.attempt.locked and restored.text.disabled
    assert restored.act("timed.draft", {"text": "rewritten"}) is False


def test_timed_attempt_counts_down_from_the_stored_start() -> None:
    module = load_module(GALLERY)
    attempt = TimedAttempt(module.exercise("waiting-write"))  # type: ignore[arg-type]
    attempt.apply("timed.start", {}, at=1000.0)
    assert attempt.remaining(1000.0 + 179.2) == pytest.approx(0.8)
    assert attempt.time_up(1000.0 + 181) and not attempt.time_up(1000.0 + 10)


@pytest.mark.parametrize("exercise_id", ["close-reading", "parallel-chart"])
def test_notes_save_restore_and_warn_about_identifiers(
    store: SQLiteStore, exercise_id: str
) -> None:
    view: CloseReading | ParallelChart = exercise(store, exercise_id)
    first, second = list(view.boxes)[:2]
    type_into(view.boxes[first], "The clock hides the letter.")
    type_into(view.boxes[second], "Seen with Mrs Kowalski, NHS 943 476 5919, LS1 4AP.")
    assert "may identify a patient" in view.warning.value
    assert "an NHS number" in view.warning.value and "a postcode" in view.warning.value
    restored = exercise(store, exercise_id)
    assert restored.boxes[first].value == "The clock hides the letter."
    assert "Kowalski" in restored.boxes[second].value  # warned, never blocked or altered
    assert restored.act(view.attempt.kind, {"notes": {"not-a-box": "x"}}) is False
    saved = store.events(item=exercise_id)[-1].value
    assert saved["labels"][first] == view.box_labels[first]


def test_structured_reflection_saves_parts_and_warns(store: SQLiteStore) -> None:
    reflection = gallery(store).reflection("guided-reflection")
    reflection.autosave_delay = 0
    assert list(reflection.boxes) == ["what", "so-what", "now-what"]
    type_into(reflection.boxes["what"], "I sat with Mr Hughes, born 12/03/1948, on the ward.")
    type_into(reflection.boxes["now-what"], "Ask before reassuring.")
    assert "a date that could be a date of birth" in reflection.warning.value
    assert "a name with a title" in reflection.warning.value
    saved = store.events(item="guided-reflection")[-1].value
    assert saved["parts"]["now-what"] == "Ask before reassuring."
    assert saved["text"].startswith("What?\n\nI sat with") and "Now what?" in saved["text"]
    assert saved["words"] == 13
    assert "aim for at least 60" in reflection.words.value
    type_into(reflection.boxes["so-what"], " ".join(["word"] * 60))
    assert "target of 60 reached" in reflection.words.value
    again = gallery(store).reflection("guided-reflection")
    assert again.boxes["what"].value.startswith("I sat with Mr Hughes")


def test_portfolio_exports_own_writing_escaped(store: SQLiteStore) -> None:
    module = gallery(store)
    reflection = module.reflection("guided-reflection")
    reflection.autosave_delay = 0
    type_into(reflection.boxes["what"], "<script>alert('x')</script> [link](javascript:x)")
    chart = exercise(store, "parallel-chart")
    type_into(chart.boxes["felt"], "Tired & moved.")
    other = gallery(store, learner="ben").reflection("guided-reflection")
    other.autosave_delay = 0
    type_into(other.boxes["what"], "Ben's private words")
    texts = module.portfolio().prepare()
    markdown, html = texts["markdown"], texts["html"]
    assert "&lt;script&gt;" in markdown and "<script>" not in markdown
    assert "\\[link\\]" in markdown
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "<script>" not in html
    assert "Tired &amp; moved." in html and "What I felt" in html
    assert "Ben" not in markdown + html


def test_exercise_options_are_checked(store: SQLiteStore) -> None:
    module = gallery(store)
    with pytest.raises(TypeError, match="takes no option 'wave'"):
        module.exercise("first-reply", wave="post")
    with pytest.raises(KeyError, match="has no exercise 'nope'"):
        module.exercise("nope")


def test_vignette_widget_shows_counters_techniques_and_debrief(store: SQLiteStore) -> None:
    view = gallery(store).vignette("night-call")
    assert "Ms Shah&#x27;s trust in you: 1 (from 0 to 4)" in view.counters.value
    assert "distress" not in view.counters.value  # hidden counter
    expert = view.vignette.expert_path()
    assert expert is not None
    for state, index in expert.moves:
        click(choice_button(view, index))
        assert view.walk.node_id != state.node
    assert view.walk.finished and "You followed the expert's path" in view.debrief.value
    assert "How the counters moved" in view.debrief.value
    assert "Technique: Supporting (NURSE)" in view.feedback.value
    assert view.debrief_button.layout.display is None
    restored = gallery(store).vignette("night-call")
    assert restored.debrief.value == view.debrief.value


def test_a_choice_whose_condition_fails_is_refused_through_the_comm(store: SQLiteStore) -> None:
    view = gallery(store).vignette("night-call")
    stale = choice_button(view, 2)  # "He's comfortable", offered only at the start
    click(choice_button(view, 1))  # the identity check first: trust stays at 1
    click(stale)  # a forged message from an old button: no jump to another branch
    click(choice_button(view, [i for i, _ in view.walk.offered()][1]))  # straight to the update
    assert view.walk.node_id == "update" and view.walk.counters["trust"] == 1
    offered = [i for i, _ in view.walk.offered()]
    assert 2 not in offered  # "go and tell him you rang" needs trust >= 2
    assert view.choose(2, at="update") is None
    assert view.walk.node_id == "update"
    assert [e.value["to"] for e in store.events(item="night-call")] == ["identity", "update"]


def test_perspective_banner(store: SQLiteStore) -> None:
    view = gallery(store).vignette("through-toms-eyes")
    assert "you are Tom Avery" in view.perspective.value and "the carer" in view.perspective.value


def test_likert_attempt_replay_ignores_other_waves() -> None:
    module = load_module(GALLERY)
    spec = module.exercise("confidence")
    attempt = LikertAttempt(spec, "post")  # type: ignore[arg-type]

    class Stored:
        def __init__(self, kind: str, value: Any) -> None:
            self.kind, self.value, self.time = kind, value, time.time()

    pre = {"instrument": "communication-confidence", "wave": "pre", "answers": {"1": 3}}
    post = {**pre, "wave": "post", "answers": {"2": 4}}
    attempt.replay([Stored("likert.draft", pre), Stored("likert.draft", post)])
    assert attempt.answers == {"2": 4}


def test_gallery_content_and_notebook_pass_check(tmp_path: Path) -> None:
    from courseware.content import check_paths

    assert check_paths([GALLERY]) == []


HOSTILE = "Mrs Smith <img src=x onerror=alert(1)> =cmd|' /C calc'!A0 \u202e مرحبا " + "😀" * 300_000


def test_hostile_text_is_stored_intact_and_never_rendered_as_html(store: SQLiteStore) -> None:
    compose: ComposeResponse = exercise(store, "compose-reply")
    type_into(compose.text, HOSTILE)
    click(compose.submit_button)
    timed: TimedWrite = exercise(store, "waiting-write")
    click(timed.start_button)
    type_into(timed.text, HOSTILE)
    chart: ParallelChart = exercise(store, "parallel-chart")
    type_into(chart.boxes["felt"], HOSTILE)
    assert exercise(store, "compose-reply").text.value == HOSTILE
    assert exercise(store, "waiting-write").text.value == HOSTILE
    assert exercise(store, "parallel-chart").boxes["felt"].value == HOSTILE
    html = render_html(compose) + render_html(timed) + render_html(chart)
    assert "<img" not in html and "“Mrs Smith”" in html  # quoted in the warning, as text


def render_html(widget: Any) -> str:
    """Every HTML string a widget shows (its own and its children's)."""
    own = widget.value if isinstance(widget, w.HTML) else ""
    return own + "".join(render_html(child) for child in getattr(widget, "children", ()))


def test_each_passage_is_a_landmark_named_after_its_exercise(store: SQLiteStore) -> None:
    """A module with two close readings has two passage landmarks, each with its own name (axe's
    landmark-unique), and a title with markup stays text in the name."""
    view: CloseReading = exercise(store, "close-reading")
    (row,) = view.build()
    passage = row.children[0].value
    assert f"aria-label='The passage: {html.escape(view.spec.title)}'" in passage
