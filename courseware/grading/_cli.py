"""``courseware grade …``: each sub-command is one call into the grading API, plus printing."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from ._course import CourseFolder, GradingError


def _rubric(course: CourseFolder, name: str) -> Any:
    from ._rubric import load_rubric

    path = Path(name)
    if not path.suffix:
        path = course.root / "rubrics" / f"{name}.yaml"
    return load_rubric(path)


def _book(course: CourseFolder) -> Any:
    from ._marking import MarkingBook

    return MarkingBook(course.marking_db)


def _script_rubric(course: CourseFolder, book: Any, assignment: str) -> Any:
    from ._moderation import marking_rubric

    return marking_rubric(course.root, book, assignment)


def _outcome(rubric: Any, mark: Any) -> str:
    """``10 (Reflection)``: a mark's points and its grade (by level) or band (by points)."""
    from ._marking_rules import mark_grade, mark_total

    if rubric.by_level:
        return f"{mark_total(rubric, mark):g} ({rubric.grade_name(mark_grade(rubric, mark))})"
    return f"{mark.total:g} ({rubric.band(mark.total).name})"


def standard_lines(rubric: Any) -> list[str]:
    """The course's standard as a tutor needs it: pass mark and, by level, each grade's points."""
    std = rubric.standard
    if std is None:
        return []
    lines = [f"standard: {std.course}, FHEQ level {std.fheq_level}, pass mark {std.pass_mark:g}%"]
    if rubric.by_level:
        lines[0] += f", pass at {rubric.grade_name(std.pass_level)} or above"
        lines += [
            f"  {rubric.grade_name(band.id)}: {band.min:g}/{std.out_of:g}"
            + (" (fail)" if band.fail else "")
            for band in rubric.bands
        ]
    return lines


class Progress:
    """A bar plus count on stderr while a long step runs, redrawn in place; nothing when stderr is
    not a terminal (a log or a pipe) or with ``--quiet``. Each step's result is printed anyway."""

    width = 30

    def __init__(self, label: str, *, quiet: bool = False, out: TextIO | None = None) -> None:
        self.label = label
        self.out = out if out is not None else sys.stderr
        isatty = getattr(self.out, "isatty", None)
        self.live = not quiet and bool(isatty and isatty())
        self.shown = False

    def update(self, done: int, total: int, note: str = "") -> None:
        if not self.live:
            return
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{total} {note}"
        columns = shutil.get_terminal_size((100, 20)).columns
        self.out.write("\r" + line[: max(columns - 1, 20)] + "\x1b[K")
        self.shown = True
        if done >= total:
            self.out.write("\n")
            self.shown = False
        self.out.flush()

    def student(self, result: Any, done: int, total: int) -> None:
        """The autograde callback: ``result`` is the student just graded."""
        self.update(done, total, result.summary())

    def close(self) -> None:
        if self.shown:  # a step that ended early (an error) leaves the line finished
            self.out.write("\n")
            self.out.flush()
            self.shown = False


def cmd_autograde(args: argparse.Namespace) -> int:
    from ._autograde import autograde_cohort

    course = CourseFolder.open(args.course)
    progress = Progress("autograde", quiet=args.quiet)
    try:
        report = autograde_cohort(
            course,
            args.assignment,
            jobs=args.jobs,
            students=args.student or None,
            progress=progress.student,
        )
    finally:
        progress.close()
    chosen = "" if args.jobs else " (chosen for the class size; --jobs N to set)"
    print(
        f"autograded {args.assignment}: {len(report.results)} students in {report.seconds:.1f} s "
        f"with {report.jobs} job{'s' * (report.jobs != 1)}{chosen}"
    )
    for result in report.results:
        print("  " + result.summary())
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
    print(f"summary: {counts}")
    unsettled = [r.student for r in report.results if r.status in {"failed", "skipped"}]
    flagged = [r.student for r in report.results if r.review]
    if unsettled:
        print(
            f"not graded: {', '.join(unsettled)}. These get no marking script and no mark. Ask "
            "for a resubmission and run this again with --student, or mark the original file "
            f"by hand: courseware grade confirm {args.assignment} --student ID --score "
            'CELL=POINTS ... --reason "..." --by NAME (docs/grading.md)'
        )
    if flagged:
        print(
            f"needs review: {', '.join(flagged)}. Exported as needs-review until a tutor "
            f"confirms a score: courseware grade confirm {args.assignment} --student ID "
            '--rescored (or --claimed, or --score CELL=POINTS) --reason "..." --by NAME'
        )
    if args.json:
        Path(args.json).write_text(report.to_json(), encoding="utf-8")
    return 0


def cmd_scripts(args: argparse.Namespace) -> int:
    from ._moderation import prepare_scripts

    course = CourseFolder.open(args.course)
    rubric = _rubric(course, args.rubric)
    progress = Progress("scripts", quiet=args.quiet)
    with _book(course) as book:
        try:
            prepared = prepare_scripts(
                course,
                book,
                args.assignment,
                rubric,
                args.notebook or args.assignment,
                args.cell,
                course_file=args.course_file,
                progress=progress.update,
            )
        finally:
            progress.close()
        standard = book.standard(args.assignment)
    print(f"{len(prepared.scripts)} scripts of {args.assignment} to mark with rubric {rubric.id}")
    if standard is not None:
        for line in standard_lines(rubric.for_standard(standard)):
            print(line)
    for student, why in sorted(prepared.left_out.items()):
        print(f"  no script for {student}: {why}")
    return 0


def cmd_allocate(args: argparse.Namespace) -> int:
    from ._moderation import allocate

    course = CourseFolder.open(args.course)
    markers = [m.strip() for m in args.markers.split(",") if m.strip()]
    with _book(course) as book:
        rubric = _script_rubric(course, book, args.assignment)
        given = allocate(book, args.assignment, rubric, args.role, markers, all_scripts=args.all)
    load: dict[str, int] = {}
    for marker in given.values():
        load[marker] = load.get(marker, 0) + 1
    print(
        f"allocated {len(given)} scripts for {args.role} marking: "
        + (", ".join(f"{m} {n}" for m, n in load.items()) or "none needed")
    )
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    from ._moderation import marking_queue

    course = CourseFolder.open(args.course)
    with _book(course) as book:
        queue = marking_queue(book, args.assignment, args.marker)
    for script, role in queue:
        print(f"{script} ({role} marking)")
    print(f"{len(queue)} scripts waiting for {args.marker}", file=sys.stderr)
    return 0


def _pairs(values: list[str], what: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep:
            raise GradingError(f"{what} must look like criterion=value, not {value!r}")
        found[key.strip()] = text
    return found


def cmd_mark(args: argparse.Namespace) -> int:
    from ._marking_view import mark_interactively
    from ._moderation import record_mark

    course = CourseFolder.open(args.course)
    with _book(course) as book:
        rubric = _script_rubric(course, book, args.assignment)
        if args.level:
            if not args.script:
                raise GradingError("--level needs --script")
            mark = record_mark(
                book,
                rubric,
                args.script,
                args.marker,
                _pairs(args.level, "--level"),
                _pairs(args.comment or [], "--comment"),
                args.overall or "",
            )
            print(f"{mark.script}: {_outcome(rubric, mark)} recorded for {args.marker}")
            remarks = [r for r in book.remarks(args.assignment) if r.time == mark.time]
            for r in remarks:
                print(f"re-marked {r.script} ({r.role}): {r.old_level} -> {r.new_level}")
            return 0
        return mark_interactively(
            course, book, rubric, args.assignment, args.marker, only=args.script
        )


def cmd_moderate(args: argparse.Namespace) -> int:
    from ._agreement import marker_agreement
    from ._moderation import agree_marks, moderation_status, write_back

    course = CourseFolder.open(args.course)
    with _book(course) as book:
        rubric = _script_rubric(course, book, args.assignment)
        agreed = agree_marks(book, args.assignment, rubric)
        status = moderation_status(book, args.assignment, rubric)
        waiting: dict[str, list[str]] = {}
        for script, decision in sorted(status.items()):
            if decision.status != "agreed":
                waiting.setdefault(decision.status, []).append(script)
        print(f"agreed: {len(agreed)} of {len(status)} scripts")
        for role, scripts in waiting.items():
            print(f"waiting for a {role} mark: {', '.join(scripts)}")
        for line in marker_agreement(book, args.assignment, rubric).lines():
            print(line)
        if args.write:
            count, refused = write_back(course, book, args.assignment)
            print(f"wrote {count} agreed marks and comments into the gradebook")
            for script, why in sorted(refused.items()):
                print(f"not written for {script}: {why}")
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    from ._standing import confirm_score

    scores: dict[str, float] = {}
    for cell, value in _pairs(args.score or [], "--score").items():
        try:
            scores[cell] = float(value)
        except ValueError:
            raise GradingError(f"--score {cell}={value!r}: the points must be a number") from None
    if not (scores or args.rescored or args.claimed):
        raise GradingError("give --score CELL=POINTS, --rescored or --claimed")
    course = CourseFolder.open(args.course)
    with _book(course) as book:
        standing = confirm_score(
            course,
            book,
            args.assignment,
            args.student,
            reason=args.reason,
            by=args.by,
            scores=scores,
            rescored=args.rescored,
        )
    score = "" if standing.score is None else f" {standing.score:g}/{standing.max_score:g}"
    print(f"{args.student}: {standing.status}{score} ({standing.note})")
    _stale_feedback(course, args.assignment, args.student)
    return 0


def _stale_feedback(course: CourseFolder, assignment: str, student: str) -> None:
    """After a confirmation: name the feedback made before it (it shows the old score, and nbgrader
    makes feedback again only when forced) and the commands that bring it, and its release, up to
    date."""
    from ._feedback import made_feedback

    made = made_feedback(course, assignment, student)
    if not made:
        return
    print("feedback made before this confirmation is out of date:")
    for page in made:
        shown = (
            page.path.relative_to(course.root)
            if page.path.is_relative_to(course.root)
            else page.path
        )
        says = f" (it says: {', '.join(page.notes)})" if page.notes else ""
        print(f"  {shown}{says}")
    print(f"make it again: nbgrader generate_feedback {assignment} --student {student} --force")
    again = f"nbgrader release_feedback {assignment} --student {student}"
    released = [page.released for page in made if page.released is not None]
    if released:
        where = ", ".join(str(path) for path in released)
        print(f"it was already released ({where}): release it again after that: {again}")
    else:
        print(f"release it again if you already did: {again}")


def cmd_pack(args: argparse.Namespace) -> int:
    from ._exports import examiner_pack

    course = CourseFolder.open(args.course)
    with _book(course) as book:
        rubric = _script_rubric(course, book, args.assignment)
        out = examiner_pack(course, book, args.assignment, rubric, args.out)
    print(f"external examiner's pack written to {out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ._exports import export_registry, export_research

    if not args.registry and not args.research:
        raise GradingError("name --registry FILE and/or --research FILE")
    course = CourseFolder.open(args.course)
    with _book(course) as book:
        scripts = book.scripts(args.assignment)
        wanted = scripts and args.research  # the registry needs no rubric
        rubric = _script_rubric(course, book, args.assignment) if wanted else None
        if args.registry:
            progress = Progress("registry", quiet=args.quiet)
            try:
                rows = export_registry(
                    course, book, args.assignment, args.registry, progress=progress.update
                )
            finally:
                progress.close()
            print(f"registry: {len(rows)} rows -> {args.registry}")
        if args.research:
            progress = Progress("research", quiet=args.quiet)
            try:
                rows = export_research(
                    course, book, args.assignment, args.research, rubric, progress=progress.update
                )
            finally:
                progress.close()
            print(f"research: {len(rows)} pseudonymous rows -> {args.research}")
    return 0


def add_grade_commands(sub: Any) -> None:
    """Register ``courseware grade`` and its sub-commands on the main parser's sub-parsers."""
    grade = sub.add_parser("grade", help="grade assessed work over nbgrader (see docs/grading.md)")
    commands = grade.add_subparsers(dest="grade_command", required=True)

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
        parser.add_argument("assignment", help="assignment name (a folder in source/)")
        parser.add_argument("--course", type=Path, help="nbgrader course folder (default: here)")
        parser.set_defaults(func=run, handler=func)
        return parser

    def quiet(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--quiet",
            "-q",
            action="store_true",
            help="no progress bar (none is shown off a terminal)",
        )

    p = command(
        "autograde", cmd_autograde, "autograde every submission in parallel, reporting each student"
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        help="parallel workers (default: from the class size and the cores; 1 for a small class)",
    )
    quiet(p)
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--json", type=Path, help="also write the per-student report as JSON here")

    p = command("scripts", cmd_scripts, "make one anonymous script per answer to be rubric-marked")
    p.add_argument(
        "--rubric", required=True, help="rubric id in rubrics/ or a path to a rubric file"
    )
    p.add_argument("--cell", required=True, help="grade id of the manually graded answer cell")
    p.add_argument("--notebook", help="notebook name (default: the assignment name)")
    p.add_argument(
        "--course-file",
        type=Path,
        help="courses/<id>.yaml assessing this assignment: its FHEQ level sets the pass mark and, "
        "for a rubric by level (REFLECT; required then), its pass_level the level a pass needs",
    )
    quiet(p)

    p = command(
        "allocate", cmd_allocate, "allocate scripts to markers for first, second or third marking"
    )
    p.add_argument("--role", choices=["first", "second", "third"], required=True)
    p.add_argument("--markers", required=True, help="comma-separated marker names")
    p.add_argument("--all", action="store_true", help="second-mark every script, not a sample")

    p = command("queue", cmd_queue, "list the scripts waiting for a marker")
    p.add_argument("--marker", required=True)

    p = command(
        "mark", cmd_mark, "mark scripts against the rubric, blind (interactive unless --level)"
    )
    p.add_argument("--marker", required=True)
    p.add_argument("--script", help="one script id (default: each script in the marker's queue)")
    p.add_argument(
        "--level",
        action="append",
        help="criterion=level id (repeat per criterion); by level also overall=LEVEL and, for "
        "the top level, learning=KIND",
    )
    p.add_argument("--comment", action="append", help="criterion=comment (repeatable)")
    p.add_argument("--overall", help="overall comment")

    p = command(
        "moderate", cmd_moderate, "agree marks where the rules allow; show queues and agreement"
    )
    p.add_argument(
        "--write", action="store_true", help="write agreed marks and comments into the gradebook"
    )

    p = command(
        "confirm",
        cmd_confirm,
        "record a score a tutor confirmed by hand (a failed, skipped or flagged submission)",
    )
    p.add_argument("--student", required=True)
    p.add_argument("--score", action="append", help="cell=points (repeat per cell)")
    p.add_argument(
        "--rescored", action="store_true", help="a flagged submission: take the re-scored items"
    )
    p.add_argument(
        "--claimed", action="store_true", help="a flagged submission: its scores stand as graded"
    )
    p.add_argument("--reason", required=True, help="why (kept with the score, shown in exports)")
    p.add_argument("--by", required=True, help="who confirms it")

    p = command("examiner-pack", cmd_pack, "write the anonymised external examiner's pack")
    p.add_argument("--out", type=Path, required=True)

    p = command("export", cmd_export, "registry/LMS CSV and/or pseudonymous research CSV")
    p.add_argument("--registry", type=Path)
    p.add_argument("--research", type=Path)
    quiet(p)


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``courseware grade`` command; a :class:`GradingError` becomes one clear line."""
    from ..content import ContentError

    try:
        return int(args.handler(args))
    except (GradingError, ContentError) as exc:
        print(f"courseware grade {args.grade_command}: {exc}", file=sys.stderr)
        return 1
