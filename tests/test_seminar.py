"""Seminar polls without a server: questions, who may answer what, moderation, small groups, export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courseware.apps import Seminar, SeminarError, seminar_questions
from courseware.apps._seminar import PLACE_GRACE, open_session
from courseware.apps._seminar_log import person_of
from courseware.apps._seminar_results import SEPARATORS, neutralise
from courseware.content import find_modules, load_module
from courseware.store import SQLiteStore

from conftest import FIXTURES, MODULES

DEMO = load_module(FIXTURES / "modules" / "demo")
CHOICE = "waiting-room.arrival"
SAY = "waiting-room.arrival.say"
HOSTILE = '<img src=x onerror=alert(1)><script>alert(2)</script> =HYPERLINK("x") 👩🏽‍⚕️ ﷽'


def seminar(min_group: int = 3) -> Seminar:
    return Seminar(DEMO, min_group=min_group, max_text=120)


def people(s: Seminar, n: int) -> list[str]:
    return [s.new_participant() for _ in range(n)]


def test_questions_come_from_the_module() -> None:
    questions = {q.id: q for q in seminar_questions(DEMO)}
    choice = questions[CHOICE]
    assert choice.kind == "choice"
    assert choice.options == ("Ask how she is feeling today", "Tell her the doctor is running late")
    assert "glancing at the door" in choice.context
    assert questions[SAY].kind == "text" and questions[SAY].prompt == "What would you say next?"
    assert "waiting-room.listen" not in questions, "one choice is not a choice point"
    assert questions["self-check.open-question"].options[1] == "How has this week been for you?"
    assert questions["say-next"].kind == "text"


def test_every_curriculum_module_offers_questions() -> None:
    for directory in find_modules(MODULES):
        questions = seminar_questions(load_module(directory))
        assert any(q.kind == "choice" for q in questions), directory
        assert all(q.kind == "text" or len(q.options) >= 2 for q in questions)


def test_answers_only_to_the_open_question_by_known_people() -> None:
    s = seminar()
    (alice,) = people(s, 1)
    with pytest.raises(SeminarError, match="not open"):
        s.answer(alice, CHOICE, choice=0)
    s.open(CHOICE)
    with pytest.raises(SeminarError, match="join"):
        s.answer("made-up-id", CHOICE, choice=0)
    with pytest.raises(SeminarError, match="not open"):
        s.answer(alice, SAY, text="hello")
    for bad in (2, -1, True, "0", None, 0.0):
        with pytest.raises(SeminarError, match="choose one"):
            s.answer(alice, CHOICE, choice=bad)  # type: ignore[arg-type]
    s.answer(alice, CHOICE, choice=1)
    s.close()
    with pytest.raises(SeminarError, match="not open"):
        s.answer(alice, CHOICE, choice=0)
    assert s.results(CHOICE).total == 1


def test_changing_your_answer_replaces_only_yours() -> None:
    s = seminar(min_group=3)
    alice, bob, carol = people(s, 3)
    s.open(CHOICE)
    s.answer(alice, CHOICE, choice=0)
    s.answer(bob, CHOICE, choice=0)
    s.answer(carol, CHOICE, choice=0)
    s.answer(alice, CHOICE, choice=1)
    s.answer(alice, CHOICE, choice=1)
    assert s.results(CHOICE).counts == [2, 1]
    assert s.answer_of(alice) == {"choice": 1} and s.answer_of(bob) == {"choice": 0}


def test_small_groups_are_not_broken_down() -> None:
    s = seminar(min_group=5)
    group = people(s, 5)
    s.open(CHOICE)
    for person in group[:4]:
        s.answer(person, CHOICE, choice=0)
    result = s.results(CHOICE)
    assert (result.total, result.counts, result.suppressed) == (4, None, True)
    s.answer(group[4], CHOICE, choice=1)
    assert s.results(CHOICE).counts == [4, 1]


def test_free_text_waits_for_the_presenter() -> None:
    s = seminar(min_group=3)
    alice, bob, carol = people(s, 3)
    s.open(SAY)
    s.answer(alice, SAY, text=HOSTILE)
    s.answer(bob, SAY, text="  I can see this is\nworrying   you. ")
    s.answer(carol, SAY, text="Tell me more")
    queue = s.queue()
    assert [t.text for t in queue] == [HOSTILE, "I can see this is worrying you.", "Tell me more"]
    assert s.results(SAY).approved == []
    s.moderate(queue[0].id, approve=True)
    s.moderate(queue[2].id, approve=False)
    assert s.results(SAY).approved == [HOSTILE], "stored exactly as typed"
    assert [t.text for t in s.queue()] == ["I can see this is worrying you."]
    with pytest.raises(SeminarError):
        s.moderate("no-such-answer", approve=True)


def test_an_approved_answer_cannot_be_swapped() -> None:
    s = seminar(min_group=1)
    (alice,) = people(s, 1)
    s.open(SAY)
    s.answer(alice, SAY, text="Something kind")
    (waiting,) = s.queue()
    s.moderate(waiting.id, approve=True)
    s.answer(alice, SAY, text="Something unkind")
    assert s.results(SAY).approved == []
    assert [t.text for t in s.queue()] == ["Something unkind"]
    with pytest.raises(SeminarError):
        s.moderate(waiting.id, approve=True)


def test_free_text_limits() -> None:
    s = seminar()
    (alice,) = people(s, 1)
    s.open(SAY)
    with pytest.raises(SeminarError, match="under 120 characters"):
        s.answer(alice, SAY, text="x" * 121)
    for empty in ("", "   \n\t", None, 5):
        with pytest.raises(SeminarError, match="write an answer"):
            s.answer(alice, SAY, text=empty)  # type: ignore[arg-type]
    s.answer(alice, SAY, text="x" * 120)
    assert s.results(SAY).total == 1


def test_learners_see_the_question_not_the_results() -> None:
    s = seminar(min_group=1)
    alice, bob = people(s, 2)
    s.open(SAY)
    s.answer(alice, SAY, text="mine")
    (waiting,) = s.queue()
    s.moderate(waiting.id, approve=True)
    state = s.learner_state(bob)
    assert state["question"]["id"] == SAY and state["yours"] is None
    assert "mine" not in repr(state) and "results" not in state and "queue" not in state
    assert s.learner_state(alice)["yours"] == {"text": "mine"}
    assert s.presenter_state()["results"]["approved"] == ["mine"]


def test_reset_starts_a_new_group_and_keeps_the_old_for_export() -> None:
    s = seminar(min_group=2)
    first = people(s, 2)
    s.open(CHOICE)
    for person in first:
        s.answer(person, CHOICE, choice=1)
    seen = []
    s.subscribe(seen.append)
    s.reset()
    assert seen == ["question"]
    assert (s.round, s.current, s.accepting) == (2, None, False)
    s.open(CHOICE)
    assert s.results(CHOICE).total == 0
    assert s.results(CHOICE, 1).counts == [0, 2]


def test_export_is_aggregate_suppressed_and_formula_safe() -> None:
    s = seminar(min_group=3)
    group = people(s, 4)
    s.open(CHOICE)
    for person in group[:2]:
        s.answer(person, CHOICE, choice=0)  # only two: suppressed
    s.open(SAY)
    for i, person in enumerate(group):
        s.answer(person, SAY, text=["=1+1", "+cmd", "@SUM(A1)", "-2"][i])
    for waiting in s.queue():
        s.moderate(waiting.id, approve=True)
    rows = list(csv.reader(io.StringIO(s.export_csv())))
    assert rows[0][:3] == ["module", "round", "question_id"]
    choice_rows = [r for r in rows if r[2] == CHOICE]
    assert [r[6] for r in choice_rows] == ["", ""] and "not broken down" in choice_rows[0][8]
    texts = [r[5] for r in rows if r[2] == SAY and r[8] == "approved by the presenter"]
    assert texts == ["'=1+1", "'+cmd", "'@SUM(A1)", "'-2"]
    assert not any(cell.startswith(("=", "+", "@", "-")) for row in rows for cell in row)
    assert not any(p in s.export_csv() for p in group), "no participant ids in the export"


FORMULA = ("=", "+", "-", "@")


def assert_no_formula_anywhere(cell: str) -> None:
    """However a reader splits the cell (any separator of any locale), no piece is a formula."""
    pieces = [cell]
    for separator in SEPARATORS:
        pieces = [part for piece in pieces for part in piece.split(separator)]
    for piece in pieces:
        assert not piece.lstrip().startswith(FORMULA), (cell, piece)
    assert not cell.startswith(("\t", "\r"))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("=+-@;,|\t\r\n 'ab1"), max_size=30) | st.text(max_size=60))
def test_neutralised_cells_never_start_a_formula(text: str) -> None:
    cell = neutralise(text)
    assert isinstance(cell, str)
    assert_no_formula_anywhere(cell)
    assert cell.replace("'", "") == text.replace("'", ""), "only apostrophes are added"


def test_a_formula_after_a_semicolon_is_neutralised_and_the_text_kept() -> None:
    assert neutralise("safe;=1+1") == "safe;'=1+1"
    assert neutralise("a, +cmd|x") == "a, '+cmd|x"
    assert neutralise("\t=1") == "'\t'=1"
    assert neutralise("I asked - gently - how she felt") == "I asked - gently - how she felt"
    assert neutralise(3) == 3


def test_places_are_held_by_people_not_page_loads() -> None:
    now = [1000.0]
    s = Seminar(DEMO, min_group=1, max_people=2, clock=lambda: now[0])
    flood = [s.new_participant() for _ in range(10_000)]  # page loads without a cookie
    assert s.places_taken == 0 and all(s.knows(p) for p in flood[:10])
    alice, bob, carol = flood[:3]
    s.connect(alice)
    s.connect(alice)  # a second tab is the same person
    s.connect(bob)
    assert s.connected == 2 and s.places_taken == 2
    assert not s.room_for(None) and not s.room_for(carol) and s.room_for(alice)
    with pytest.raises(SeminarError, match="full"):
        s.connect(carol)
    s.open(CHOICE)
    with pytest.raises(SeminarError, match="full"):
        s.answer(carol, CHOICE, choice=0)
    s.answer(bob, CHOICE, choice=0)
    s.disconnect(alice)
    assert s.connected == 2, "alice still has a tab open"
    s.disconnect(alice)
    s.disconnect(bob)
    assert s.connected == 0 and not s.room_for(carol), "a place is kept through a wifi blip"
    now[0] += PLACE_GRACE + 1
    assert s.places_taken == 1, "bob answered this round: his place stays"
    s.connect(carol)
    s.reset()
    assert s.places_taken == 1 and s.room_for(None)
    for _ in range(7):
        s.connect(carol)  # eight tabs at most for one person
    with pytest.raises(SeminarError, match="too many"):
        s.connect(carol)
    assert s.connected == 1
    with pytest.raises(SeminarError, match="join"):
        s.connect("made-up.0123456789abcdef")
    assert not s.knows(alice[:-1] + ("0" if alice[-1] != "0" else "1"))


def test_invalid_unicode_is_refused_at_the_door() -> None:
    s = seminar(min_group=1)
    (alice,) = people(s, 1)
    s.open(SAY)
    for bad in ("\ud800", "fine \udfff text", "\udbff\udc00"[0]):
        with pytest.raises(SeminarError, match="not valid text"):
            s.answer(alice, SAY, text=bad)
    s.answer(alice, SAY, text="Thank you 👩🏽‍⚕️ \u202e")
    (waiting,) = s.queue()
    s.moderate(waiting.id, approve=True)
    s.export_csv().encode("utf-8")
    assert s.learner_state(alice)["yours"] == {"text": "Thank you 👩🏽‍⚕️ \u202e"}


def test_the_presenter_can_withdraw_an_approval() -> None:
    s = seminar(min_group=1)
    (alice,) = people(s, 1)
    s.open(SAY)
    s.answer(alice, SAY, text="Approved by mistake")
    (waiting,) = s.queue()
    with pytest.raises(SeminarError, match="not approved"):
        s.withdraw(waiting.id)
    s.moderate(waiting.id, approve=True)
    assert s.presenter_state()["withdraw"] == [waiting.id]
    s.withdraw(waiting.id)
    assert s.results(SAY).approved == [] and [t.id for t in s.queue()] == [waiting.id]
    assert "Approved by mistake" not in s.export_csv()
    s.moderate(waiting.id, approve=False)
    assert s.queue() == []


def test_a_session_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    with SQLiteStore(path) as store:
        s = open_session(store, DEMO, min_group=2, max_text=120, owner="presenter")
        alice, bob = people(s, 2)
        s.open(CHOICE)
        s.answer(alice, CHOICE, choice=1)
        s.answer(bob, CHOICE, choice=0)
        s.reset()
        s.open(SAY)
        s.answer(alice, SAY, text="That sounds frightening.")
        s.answer(bob, SAY, text="=1+1 is a formula")
        first, second = s.queue()
        s.moderate(first.id, approve=True)
        s.moderate(second.id, approve=True)
        s.withdraw(second.id)
        before = (s.export_csv(), s.presenter_state(), s.learner_state(alice))
        stored = store.events(learner="presenter")
    assert {e.module for e in stored} == {"seminar:demo"}
    assert alice not in repr(stored) and person_of(alice) in repr(stored)
    with SQLiteStore(path) as store:  # the server restarted: a new process, the same store
        again = open_session(store, DEMO, min_group=2, max_text=120, owner="presenter")
        assert (again.export_csv(), again.presenter_state(), again.learner_state(alice)) == before
        assert again.knows(alice), "an id that answered before the restart is still known"
        again.answer(alice, SAY, text="That sounds frightening, changed")
        assert [t.text for t in again.queue()] == ["=1+1 is a formula", again.queue()[1].text]
        fresh = open_session(store, DEMO, new=True, owner="presenter")
        assert fresh.round == 1 and fresh.export_csv().count("\n") == 1


def test_nothing_is_shown_that_was_not_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "responses.sqlite")
    s = open_session(store, DEMO, min_group=1, owner="presenter")
    (alice,) = people(s, 1)
    s.open(CHOICE)
    store.close()  # the store fails: the answer is refused, not shown
    with pytest.raises(SeminarError, match="could not be saved"):
        s.answer(alice, CHOICE, choice=0)
    assert s.results(CHOICE).total == 0


def test_presenter_token_is_secret_and_unique() -> None:
    a, b = seminar(), seminar()
    assert a.presenter_token != b.presenter_token and len(a.presenter_token) >= 40
    assert a.presenter_token not in repr(a.learner_state(None))
