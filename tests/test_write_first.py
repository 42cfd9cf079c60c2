"""Write first: the learner's own words before the options, and the reply coder's feedback on them.

Model-level tests need no kernel; widget tests drive the real widgets in-process (as
tests/test_exercises.py does) against a real coder endpoint (tests/test_feedback_web.py's server
with the installed model) or a port nobody listens on (the coder is down).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CoderServer

from courseware.content import ChoiceNotOffered, Vignette, load_module
from courseware.content._lint import lint_vignette
from courseware.content._runs import replay_walk
from courseware.content._yaml import read_yaml
from courseware.feedback._web import CoderHost
from courseware.store import SQLiteStore
from courseware.widgets import open_module
from courseware.widgets._common import typeset
from courseware.widgets._vignette import VignetteView

from conftest import MODULES, REPO, free_port

FOUNDATION = MODULES / "foundation-year" / "what-is-clinical-empathy"
GALLERY = REPO / "docs" / "widget-gallery"
HOSTILE = "<script>document.title='pwned'</script> Don't worry, it's probably nothing. =SUM(A1)"


def chest_pain() -> Vignette:
    (vignette,) = load_module(FOUNDATION).vignettes.values()
    return vignette


def to_write_first(walk: Any) -> None:
    """Walk from the start to the case's write-first node."""
    vignette = walk.vignette
    target = next(n for n, node in vignette.spec.nodes.items() if node.compose_first)
    index = next(i for i, c in walk.offered() if c.to == target)
    walk.choose(index)
    assert walk.node_id == target


def coding_for(reply: str, start: int, end: int) -> dict[str, Any]:
    return {
        "schema": 1,
        "codes": [
            {
                "code": "reassurance",
                "confidence": 0.9,
                "evidence": [{"start": start, "end": end, "text": reply[start:end]}],
            }
        ],
        "unsure": [],
        "provides_space": False,
        "model_version": "stored-earlier",
    }


class Recorded:
    def __init__(self, kind: str, value: Any) -> None:
        self.kind, self.value, self.time = kind, value, 0.0


def test_a_write_first_node_offers_choices_only_after_the_reply() -> None:
    walk = chest_pain().walk()
    walk.enforce_writing = True
    to_write_first(walk)
    node = walk.node_id
    assert walk.awaiting_reply
    first = walk.offered()[0][0]
    with pytest.raises(ChoiceNotOffered, match="write what you would say"):
        walk.choose(first, at=node)
    with pytest.raises(ChoiceNotOffered, match="before submitting"):
        walk.write("   ", at=node)
    with pytest.raises(ChoiceNotOffered, match="not 'arrival'"):
        walk.write("Hello", at="arrival")  # stale: not where the learner is
    walk.draft("That sounds", at=node)
    written = walk.write("That sounds frightening. What goes through your mind?", at=node)
    assert written.text.startswith("That sounds") and not walk.awaiting_reply
    assert walk.drafts == {}
    with pytest.raises(ChoiceNotOffered, match="locked"):
        walk.write("A second go", at=node)
    with pytest.raises(ChoiceNotOffered, match="locked"):
        walk.draft("A second go", at=node)
    bad = coding_for("Not the reply at all", 0, 7)
    with pytest.raises(ChoiceNotOffered, match="not words of the reply"):
        walk.code_reply(bad, at=node)
    walk.choose(first, at=node)
    debrief = walk.debrief()
    assert debrief.steps[-1].written == written.text
    assert debrief.steps[-1].written_codes is None  # not coded: the coder was not asked


def test_write_first_replays_from_events_and_runs_from_before_still_replay() -> None:
    vignette = chest_pain()
    walk = vignette.walk()
    to_write_first(walk)
    node, reply = walk.node_id, "Don't worry, you're in the right place."
    arrival_step = walk.steps[0]
    step = {"node": arrival_step.node, "choice": arrival_step.choice, "to": arrival_step.to}
    events = [
        Recorded("vignette.step", step),
        Recorded("vignette.draft", {"node": node, "text": "Don't"}),
        Recorded("vignette.write", {"node": node, "text": reply, "words": 6}),
        Recorded("vignette.coded", {"node": node, "coding": coding_for(reply, 0, 11)}),
    ]
    replayed = replay_walk(vignette, events)
    assert replayed.reply is not None and replayed.reply.text == reply
    assert replayed.reply.coding is not None
    assert replayed.reply.coding["model_version"] == "stored-earlier"
    choice = replayed.offered()[0][0]
    replayed.choose(choice)
    assert replayed.debrief().steps[-1].written_codes == ("reassurance",)
    # a draft only: the words come back, the choices still wait
    draft_only = replay_walk(vignette, events[:2])
    draft_only.enforce_writing = True
    assert draft_only.awaiting_reply and draft_only.drafts == {1: "Don't"}
    # a run stored before the author turned writing on replays through the node
    old = replay_walk(
        vignette,
        [
            events[0],
            Recorded("vignette.step", {"node": node, "choice": choice, "to": replayed.node_id}),
        ],
    )
    assert old.node_id == replayed.node_id
    # a restart forgets the written reply with the rest of the run
    replayed.restart()
    assert replayed.written == {}


def test_check_names_the_file_line_and_field_of_a_misplaced_compose_first(tmp_path: Path) -> None:
    source = (GALLERY / "vignettes" / "through-toms-eyes.yaml").read_text(encoding="utf-8")
    assert "perspective:" in source
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("nodes:"))
    first_node = start + 1
    indent = len(lines[first_node + 1]) - len(lines[first_node + 1].lstrip())
    lines.insert(first_node + 1, " " * indent + "compose_first: true")
    path = tmp_path / "through-toms-eyes.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from courseware.content._models import VignetteSpec
    from courseware.content._schema import validate

    doc = read_yaml(path)
    spec = validate(doc, VignetteSpec)
    problems = lint_vignette(spec, doc)
    (problem,) = [p for p in problems if "compose_first" in (p.field or "")]
    assert problem.line == first_node + 2 and "plays the clinician" in problem.message
    assert str(path) in str(problem)


def test_every_clinician_role_case_writes_first_and_perspective_cases_do_not() -> None:
    for path in sorted(MODULES.glob("*/*/module.yaml")):
        for vignette in load_module(path.parent).vignettes.values():
            writes = [n for n, node in vignette.spec.nodes.items() if node.compose_first]
            if vignette.spec.perspective is None:
                assert writes, (
                    f"{vignette.id} ({path.parent.name}) never asks for the learner's words"
                )
            else:
                assert not writes, vignette.id


@pytest.fixture
def coder_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSEWARE_CODER_URL", f"http://127.0.0.1:{free_port()}/api/feedback/code")
    monkeypatch.setenv("COURSEWARE_CODER_TOKEN", "x")


@pytest.fixture(scope="module")
def coder() -> Iterator[CoderServer]:
    host = CoderHost()
    server = CoderServer(host)
    yield server
    server.close()
    host.close()


@pytest.fixture
def coder_up(coder: CoderServer, monkeypatch: pytest.MonkeyPatch) -> CoderServer:
    for name, value in coder.env().items():
        monkeypatch.setenv(name, value)
    return coder


def click(button: Any) -> None:
    button.click()


def vignette_view(store: SQLiteStore) -> VignetteView:
    module = open_module(FOUNDATION, store=store, learner="ana")
    view = module.vignette(next(iter(module.content.vignettes)))
    view.autosave_delay = 0
    return view


def walk_view_to_write_first(view: VignetteView) -> None:
    target = next(n for n, node in view.vignette.spec.nodes.items() if node.compose_first)
    label = next(c.label for _, c in view.walk.offered() if c.to == target)
    (button,) = [b for b in view.choices.children if b.description == typeset(label)]
    click(button)
    assert view.walk.node_id == target


def test_write_first_widget_when_the_coder_is_down(store: SQLiteStore, coder_down: None) -> None:
    view = vignette_view(store)
    walk_view_to_write_first(view)
    assert view.choices.children == () and view.writing.layout.display is None
    view.reply_box.value = "I can see this is frightening."
    assert store.events(kind="vignette.draft")[-1].value["text"] == "I can see this is frightening."
    assert view.choices.children == ()  # a draft does not unlock the options
    click(view.reply_submit)
    assert "unavailable right now" in view.reply_feedback.value
    assert view.reply_box.disabled and len(view.choices.children) >= 2
    while not view.walk.finished:
        click(view.choices.children[0])
    debrief = view.debrief.value
    assert "I can see this is frightening." in debrief and "not coded automatically" in debrief
    assert not store.events(kind="vignette.coded")
    again = vignette_view(store)  # reload: the words are still there
    assert again.walk.finished and "I can see this is frightening." in again.debrief.value


def test_write_first_widget_codes_with_the_real_coder(
    store: SQLiteStore, coder_up: CoderServer
) -> None:
    view = vignette_view(store)
    walk_view_to_write_first(view)
    view.reply_box.value = HOSTILE
    click(view.reply_submit)
    (coded,) = store.events(kind="vignette.coded")
    assert coded.value["coding"]["model_version"]
    assert "reassurance" in [c["code"] for c in coded.value["coding"]["codes"]]
    shown = view.reply_feedback.value
    assert "<mark>" in shown and "<script>" not in shown
    assert html.escape("<script>") in shown
    assert "Premature reassurance" in shown
    # the options come shuffled, the same way on a reload
    order = [b.description for b in view.choices.children]
    again = vignette_view(store)
    assert [b.description for b in again.choices.children] == order
    assert again.reply_feedback.value == shown  # from the stored coding, not coded again
    assert len(store.events(kind="vignette.coded")) == 1


def compose(store: SQLiteStore) -> Any:
    view = open_module(GALLERY, store=store, learner="ana").exercise("compose-reply")
    view.autosave_delay = 0
    return view


def test_compose_response_completes_when_the_coder_is_down(
    store: SQLiteStore, coder_down: None
) -> None:
    view = compose(store)
    view.text.value = "It sounds exhausting. What does a normal week look like?"
    click(view.submit_button)
    view.code_boxes["naming"].value = True
    click(view.code_button)
    assert view.attempt.stage == "review"
    assert "Automatic feedback is unavailable right now" in view.auto.value
    assert "Model replies" in view.replies.value and view.reveal.layout.visibility is None
    assert not store.events(kind="compose.coded")


def test_compose_response_shows_the_coding_beside_the_learners_own(
    store: SQLiteStore, coder_up: CoderServer
) -> None:
    view = compose(store)
    reply = "You sound really fed up. What would help most with the night shifts?"
    view.text.value = reply
    click(view.submit_button)
    view.code_boxes["exploring"].value = True
    click(view.code_button)
    (coded,) = store.events(kind="compose.coded")
    assert coded.value["model_version"] and coded.value["schema"] == 1
    names = [c["code"] for c in coded.value["codes"]]
    assert "exploring" in names
    shown = view.auto.value
    assert "<mark>" in shown and "Exploring: you and the coder agree it is there." in shown
    assert "not a mark" in shown
    restored = compose(store)
    assert restored.auto.value == shown and len(store.events(kind="compose.coded")) == 1


def test_the_coding_panel_marks_evidence_says_unsure_and_escapes_everything() -> None:
    from courseware.feedback import CodeResult, Coding, Evidence
    from courseware.widgets._coding import coding_html

    reply = "<img src=x onerror=alert(1)> I know exactly how you feel. Tell me more?"
    start = reply.index("I know")
    claim = "I know exactly how you feel."
    coding = Coding(
        codes=(
            CodeResult("false_understanding", 0.9, (Evidence(start, start + len(claim), claim),)),
        ),
        unsure=(
            CodeResult(
                "exploring", 0.5, (Evidence(reply.index("Tell"), len(reply), "Tell me more?"),)
            ),
        ),
        model_version="test-rendering",
        provides_space=False,
    )
    shown = coding_html(reply, coding, self_codes=["exploring"], offered=["exploring", "naming"])
    assert "<img" not in shown and "&lt;img src=x" in shown
    assert f"<mark>{claim}</mark>" in shown
    assert "[Claiming to know how they feel]" in shown and "[perhaps Exploring]" in shown
    assert "What the coder is unsure about" in shown and "the coder is not sure" in shown
    assert "Exploring: you ticked it; the coder is not sure." in shown
    assert "not a mark" in shown and "score" not in shown.lower()
