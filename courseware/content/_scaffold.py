"""``courseware new module STREAM/ID``: a new module folder that passes ``courseware check`` at once.

An author who does not use JupyterLab still needs a notebook; this writes one (thin: it opens the
module and shows its exercises) beside a module.yaml, one case and facilitator notes, each with
every field filled in as an example to edit. Nothing that exists is overwritten.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

from ..errors import CoursewareError
from ._models import Stream
from ._notebook import prepare_module_notebook

__all__ = ["ScaffoldError", "new_module"]

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


class ScaffoldError(CoursewareError, ValueError):
    """The module cannot be made (a bad stream or id, or the folder already exists)."""


def _module_yaml(stream: str, module_id: str, title: str) -> str:
    stage = {
        "foundation-year": "medical-foundation-year",
        "undergraduate": "undergraduate",
        "postgraduate": "foundation-doctor",
        "cpd": "cpd",
    }.get(stream, "all-stages")
    return f"""\
id: {module_id}
title: "{title}"
stream: {stream}
stage: {stage}
minutes: 30
summary: "One or two sentences for the gallery: what the learner will practise."
facilitator_notes: facilitator.md
content_warnings: []
outcomes:
  - text: "Respond to a patient's worry with an open question."
    maps_to: [ofg-communication]
references:
  - authors: "Suchman AL, Markakis K, Beckman HB, Frankel R"
    year: 1997
    title: "A model of empathic communication in the medical interview"
    journal: "JAMA"
reflections:
  - id: noticing
    title: "Noticing"
    prompt: "When did you last notice that someone was worried before they said so?"
    min_words: 50
vignettes:
  - vignettes/first-case.yaml
self_check:
  - id: open-question
    question: "Which of these is an open question?"
    options:
      - text: "Have you been worried about the results, and is that why you came in today?"
        explanation: "However long, it can be answered yes or no."
      - text: "Are you worried?"
        explanation: "It can be answered yes or no."
      - text: "How are you feeling about it?"
        correct: true
        explanation: "It invites the patient's own words."
"""


CASE = """\
id: first-case
title: "A first case"
setting: general-practice
start: arrival
counters:
  trust:
    label: "The patient's trust in you"
    description: "Rises when the patient feels heard."
    start: 1
    min: 0
    max: 3
nodes:
  arrival:
    title: "In the waiting room"
    text: "Ms Example is waiting for her results. She keeps checking her phone."
    opportunity: "She looks anxious but has not said so."
    choices:
      - label: "How are you feeling while you wait?"
        to: opens-up
        feedback: "An open question invites her to say what is on her mind."
        techniques: [open-question]
        effects: {trust: 1}
        expert: true
        comment: "Ask before you inform."
      - label: "The results should be back soon."
        to: stays-closed
        feedback: "Informative, but it answers a question she has not asked."
        techniques: [premature-advice]
  stays-closed:
    title: "She goes back to her phone"
    text: "She nods. A minute later she says, \\"I just keep thinking about my dad.\\""
    opportunity: "A link to her father."
    choices:
      - label: "Everything will be fine."
        to: ending
        techniques: [false-reassurance]
      - label: "Your dad?"
        to: ending
        techniques: [exploring]
        expert: true
        comment: "Follow the cue she offers."
  opens-up:
    title: "She talks about her father"
    text: "She says her father died young, and she is frightened."
    end: true
  ending:
    title: "The conversation moves on"
    text: "She tells you a little more."
    end: true
"""

NOTES = """\
# {title}: facilitator notes

Timing, the points to draw out of the case, and any clinical working (scores, doses) shown in full.
"""


def _notebook(path: Path, module_id: str, title: str) -> None:
    import nbformat as untyped

    nbformat: Any = untyped
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    code = nbformat.v4.new_code_cell
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}"),
        code("import courseware as cw\n\nmodule = cw.open_module()\nmodule.overview()"),
        code('module.vignette("first-case")'),
        code('module.reflection("noticing")'),
        code("module.self_check()"),
        code("module.references()"),
    ]
    nbformat.write(nb, path)
    prepare_module_notebook(path, module_id)


def new_module(root: str | Path, target: str, *, title: str | None = None) -> list[Path]:
    """Make ``root/STREAM/ID/`` (``target`` is ``STREAM/ID``) with module.yaml, one case,
    facilitator notes and the notebook; the files written. Refuses an existing folder."""
    stream, _, module_id = target.strip("/").partition("/")
    streams = get_args(Stream)
    if stream not in streams:
        raise ScaffoldError(f"unknown stream {stream!r}: use one of {', '.join(streams)}")
    if not _SLUG.match(module_id) or "/" in module_id:
        raise ScaffoldError(
            f"module id {module_id!r}: use lower-case letters, digits and hyphens (e.g. telephone-"
            "consultations), written as STREAM/ID"
        )
    folder = Path(root) / stream / module_id
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; nothing was written")
    title = title or module_id.replace("-", " ").replace("_", " ").capitalize()
    (folder / "vignettes").mkdir(parents=True)
    files = {
        folder / "module.yaml": _module_yaml(stream, module_id, title.replace('"', "'")),
        folder / "vignettes" / "first-case.yaml": CASE,
        folder / "facilitator.md": NOTES.format(title=title),
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    _notebook(folder / "module.ipynb", module_id, title)
    return [*files, folder / "module.ipynb"]
