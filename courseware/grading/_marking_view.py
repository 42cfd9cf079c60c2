"""The marker's view on a terminal: one script at a time, blind, criterion by criterion.

The marker sees the script's anonymous id and text and the rubric; never the student's name, and
never another marker's marks (the view reads nothing but the script and the rubric). Input is read
line by line, so the same view works typed by a person or fed by a script.
"""

from __future__ import annotations

import sys
import textwrap
import unicodedata
from typing import TextIO

from ._course import CourseFolder, GradingError
from ._marking import MarkingBook
from ._marking_rules import mark_grade, mark_total
from ._moderation import marking_queue, record_mark, remark_roles, script_text
from ._rubric import Rubric


def _visible(text: str) -> str:
    """Control characters (terminal escape sequences included) shown as ``\\x1b`` and so on, so a
    script cannot rewrite the marker's screen; every other character is kept as written."""
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) != "Cc" else c.encode("unicode_escape").decode()
        for c in text
    )


def render_script(script_id: str, text: str, width: int = 88) -> str:
    """The script as a marker reads it; the text is shown as written (no markup is interpreted,
    control characters are made visible)."""
    text = _visible(text)
    body = "\n".join(
        textwrap.fill(para, width) if para.strip() else "" for para in text.splitlines()
    )
    rule = "=" * width
    return f"{rule}\nScript {script_id}\n{rule}\n{body or '(empty)'}\n{rule}"


def _ask(prompt: str, stdin: TextIO, stdout: TextIO) -> str | None:
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    return None if line == "" else line.rstrip("\n")


def mark_interactively(
    course: CourseFolder,
    book: MarkingBook,
    rubric: Rubric,
    assignment: str,
    marker: str,
    *,
    only: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Walk ``marker`` through their queue; return 0, or 1 if input ended before a script was done."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if only is not None:  # one named script: marked already or not, it opens (re-marking)
        try:
            if book.script(only).assignment != assignment:
                raise KeyError(only)
        except KeyError:
            stdout.write(f"{only} is not a script of {assignment}\n")
            return 1
        if not remark_roles(book, only, marker):
            stdout.write(f"{only} is not allocated to {marker}\n")
            return 1
        queue = [only]
    else:
        queue = [s for s, _role in marking_queue(book, assignment, marker)]
    if not queue:
        stdout.write(f"nothing waiting for {marker}\n")
        return 0
    for number, script_id in enumerate(queue, 1):
        script = book.script(script_id)
        stdout.write(
            f"\n[{number}/{len(queue)}]\n{render_script(script_id, script_text(course, script))}\n"
        )
        levels: dict[str, str] = {}
        comments: dict[str, str] = {}
        for criterion in rubric.criteria:
            stdout.write(f"\n{criterion.name}\n")
            for i, level in enumerate(criterion.levels, 1):
                points = "" if level.points is None else f" ({level.points:g})"
                stdout.write(f"  {i}. {level.name}{points}: {level.descriptor}\n")
            while True:
                answer = _ask(
                    f"level for {criterion.name} [1-{len(criterion.levels)}]: ", stdin, stdout
                )
                if answer is None:
                    return 1
                if answer.strip().isdigit() and 1 <= int(answer) <= len(criterion.levels):
                    levels[criterion.id] = criterion.levels[int(answer) - 1].id
                    break
                stdout.write(f"  please type a number from 1 to {len(criterion.levels)}\n")
            note = _ask("comment (Enter for none): ", stdin, stdout)
            if note is None:
                return 1
            comments[criterion.id] = note
        if rubric.overall is not None and not _overall(rubric, levels, stdin, stdout):
            return 1
        overall = _ask("overall comment: ", stdin, stdout)
        if overall is None:
            return 1
        try:
            mark = record_mark(book, rubric, script_id, marker, levels, comments, overall)
        except GradingError as exc:
            stdout.write(f"not saved: {exc}\n")
            return 1
        if rubric.by_level:
            outcome = (
                f"{mark_total(rubric, mark):g} ({rubric.grade_name(mark_grade(rubric, mark))})"
            )
        else:
            outcome = f"{mark.total:g} ({rubric.band(mark.total).name})"
        stdout.write(f"saved {script_id}: {outcome}\n")
    return 0


def _choose(
    label: str, count: int, stdin: TextIO, stdout: TextIO, top: int | None = None
) -> int | None:
    """A level number from 1 to ``top`` (default ``count``), asked until one is typed."""
    top = top or count
    while True:
        answer = _ask(f"{label} [1-{top}]: ", stdin, stdout)
        if answer is None:
            return None
        if answer.strip().isdigit() and 1 <= int(answer) <= top:
            return int(answer) - 1
        stdout.write(f"  please type a number from 1 to {top}\n")


def _overall(rubric: Rubric, levels: dict[str, str], stdin: TextIO, stdout: TextIO) -> bool:
    """The overall level (offered no higher than the criteria support) and, at the top, learning."""
    assert rubric.overall is not None
    order = rubric.overall.levels
    ceiling = [lv.id for lv in order].index(rubric.ceiling(levels))
    stdout.write(f"\n{rubric.overall.name} (your judgement of the whole essay)\n")
    for i, level in enumerate(order, 1):
        stdout.write(f"  {i}. {level.name}: {level.descriptor}\n")
    stdout.write(f"  the criteria support at most {order[ceiling].name}\n")
    chosen = _choose(f"level for {rubric.overall.name}", len(order), stdin, stdout, ceiling + 1)
    if chosen is None:
        return False
    levels["overall"] = order[chosen].id
    if chosen == len(order) - 1:
        stdout.write("\nLearning\n")
        for i, kind in enumerate(rubric.overall.learning, 1):
            stdout.write(f"  {i}. {kind.name}: {kind.descriptor}\n")
        pick = _choose("learning", len(rubric.overall.learning), stdin, stdout)
        if pick is None:
            return False
        levels["learning"] = rubric.overall.learning[pick].id
    return True
