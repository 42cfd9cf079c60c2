"""From an evaluation file (or command-line options) to an :class:`Evaluation` and a report.

The evaluation file is YAML, validated like content (file, line and field in every error); paths in
it are relative to the file. Format in docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field
from typing_extensions import TypedDict, Unpack

from ..content import ContentError, Problem, Slug, Text, read_yaml, validate
from ..content import Model as _Model
from ..instruments import load_instruments
from ..store import open_store
from ._analysis import (
    DEFAULT_ATTRIBUTES,
    DEFAULT_MIN_GROUP,
    DEFAULT_WAVES,
    Design,
    Evaluation,
    analyse,
)
from ._export import write_csv, write_json
from ._mapping import load_mapping
from ._problems import DataError, DataProblem
from ._pseudonym import Pseudonyms
from ._read_levels import read_levels
from ._read_store import read_coded_replies, read_store
from ._read_survey import read_roster, read_survey_export
from ._report import save_report, save_summary
from ._responses import Responses, combine
from ._tables import several_forms_per_learner

CONFIG_ENV = "COURSEWARE_EVALUATION"
"""Environment variable naming the evaluation file the dashboard reads."""


class SurveySource(_Model):
    export: str
    mapping: str
    optional: bool = False
    """An optional export may be missing or unreadable; otherwise that stops the run (exit 1)."""


class Programme(_Model):
    """What the one-page summary says about the teaching: what it is and its reach."""

    description: Text | None = None
    modules: int | None = Field(default=None, ge=0)
    hours: float | None = Field(default=None, ge=0)


class ComparisonSpec(_Model):
    """A controlled comparison, declared before the data are seen: which cohort attribute splits
    the intervention cohort from the comparison cohort, and which analysis is primary."""

    attribute: Slug
    intervention: str
    comparison: str
    primary: Literal["ancova", "welch"] = "ancova"
    """ancova: later-wave scores adjusted for baseline; welch: later-wave scores, Welch t."""


class ReplySelection(_Model):
    """Coded replies that count in one phase: by module id and/or exercise (or case node) id."""

    modules: list[str] = Field(default_factory=list)
    items: list[str] = Field(default_factory=list)


class CoderAccuracy(_Model):
    """The reply coder's measured accuracy, as its benchmark reported it (declared here, since the
    coder ships no machine-readable figure yet)."""

    macro_f1: float = Field(ge=0, le=1)
    source: Text
    model_version: str | None = None


class CodedReplies(_Model):
    """Which coded written replies (store events compose.coded, vignette.coded) are before and after."""

    before: ReplySelection
    after: ReplySelection
    coder_accuracy: CoderAccuracy | None = None


class EvaluationConfig(_Model):
    """What to read and how to report it."""

    title: Text = "Empathy teaching evaluation"
    waves: list[Slug] = Field(default_factory=lambda: list(DEFAULT_WAVES), min_length=1)
    attributes: list[Slug] = Field(default_factory=lambda: list(DEFAULT_ATTRIBUTES))
    min_group: int = Field(default=DEFAULT_MIN_GROUP, ge=1, le=1000)
    instruments: list[Slug] | None = None
    """Report only these instruments (default: every instrument with answers)."""
    keys: list[str] = Field(default_factory=list)
    """Institution-supplied key files; a key with a shipped id replaces the shipped one."""
    store: str | None = None
    surveys: list[SurveySource] = Field(default_factory=list)
    roster: str | None = None
    reflect_levels: str | None = None
    pseudonym_key_file: str | None = None
    programme: Programme = Field(default_factory=Programme)
    comparison: ComparisonSpec | None = None
    coded_replies: CodedReplies | None = None


@dataclass(frozen=True)
class EvaluationSetup:
    """A checked configuration and the folder its relative paths start from."""

    config: EvaluationConfig
    base: Path

    def path(self, relative: str) -> Path:
        return (self.base / relative).expanduser()

    def location(self, where: str) -> str:
        """A store path resolved against the base, or a URL unchanged."""
        return where if "://" in where else str(self.path(where))


def load_config(path: str | Path) -> EvaluationSetup:
    doc = read_yaml(Path(path))
    config = validate(doc, EvaluationConfig)
    if len(set(config.waves)) != len(config.waves):
        raise ContentError([doc.problem(["waves"], "a wave is listed twice")])
    if config.comparison and config.comparison.attribute not in config.attributes:
        raise ContentError(
            [doc.problem(["comparison", "attribute"], "not one of the evaluation's attributes")]
        )
    if config.coded_replies and not config.store:
        raise ContentError(
            [doc.problem(["coded_replies"], "coded replies are read from the store: name it")]
        )
    return EvaluationSetup(config, Path(path).resolve().parent)


class Options(TypedDict, total=False):
    """What ``courseware report`` can give on the command line (added to the evaluation file)."""

    surveys: Sequence[tuple[str, str]]
    store: str | None
    roster: str | None
    levels: str | None
    keys: Sequence[str]
    min_group: int | None
    title: str | None


def setup_from_options(
    config: str | Path | None = None, **options: Unpack[Options]
) -> EvaluationSetup:
    """An evaluation file (if given) with command-line options added or overriding."""
    setup = (
        load_config(config)
        if config is not None
        else EvaluationSetup(EvaluationConfig(), Path.cwd())
    )
    surveys = options.get("surveys", ())
    keys = options.get("keys", ())
    min_group, title = options.get("min_group"), options.get("title")
    store, roster, levels = options.get("store"), options.get("roster"), options.get("levels")
    cwd = Path.cwd()
    data = setup.config.model_dump()
    # Paths from the file are relative to it; paths from options are relative to the working folder.
    for name in ("store", "roster", "reflect_levels", "pseudonym_key_file"):
        if data[name] is not None:
            data[name] = setup.location(data[name])
    data["keys"] = [str(setup.path(k)) for k in data["keys"]] + [str(cwd / k) for k in keys]
    data["surveys"] = [
        {**s, "export": str(setup.path(s["export"])), "mapping": str(setup.path(s["mapping"]))}
        for s in data["surveys"]
    ] + [{"export": str(cwd / e), "mapping": str(cwd / m)} for e, m in surveys]
    for name, value in (("store", store), ("roster", roster), ("reflect_levels", levels)):
        if value is not None:
            data[name] = value if "://" in value else str(cwd / value)
    if min_group is not None:
        data["min_group"] = min_group
    if title is not None:
        data["title"] = title
    return EvaluationSetup(EvaluationConfig.model_validate(data), cwd)


def evaluate(setup: EvaluationSetup, *, pseudonyms: Pseudonyms | None = None) -> Evaluation:
    """Read every source the setup names and analyse it.

    Raises :class:`ContentError` for a wrong key, mapping or evaluation file (nothing can be read
    reliably through it); bad data rows are reported on the evaluation, not raised.
    """
    config = setup.config
    instruments = load_instruments(setup.path(k) for k in config.keys)
    if pseudonyms is None:
        key_file = setup.path(config.pseudonym_key_file) if config.pseudonym_key_file else None
        pseudonyms = Pseudonyms.from_environment(key_file)
    parts: list[Responses] = []
    problems: list[Problem] = []
    skipped: list[DataProblem] = []
    coded = None
    if config.store:
        with open_store(setup.location(config.store)) as store:
            parts.append(read_store(store, instruments, config.waves, pseudonyms))
            if config.coded_replies:
                selection = config.coded_replies
                coded, found = read_coded_replies(
                    store,
                    selection.before.model_dump(),
                    selection.after.model_dump(),
                    pseudonyms,
                )
                parts.append(Responses(problems=found))
    for survey in config.surveys:
        try:
            mapping = load_mapping(setup.path(survey.mapping), instruments, config.waves)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        part = read_survey_export(
            setup.path(survey.export), mapping, instruments, config.waves, pseudonyms
        )
        parts.append(part)
        if not survey.optional:
            skipped.extend(p for p in part.problems if p.action == "file skipped")
    if problems:
        raise ContentError(problems)
    if skipped:
        # A named export that could not be read at all would leave a report that looks complete.
        raise DataError(skipped)
    if config.roster:
        parts.append(read_roster(setup.path(config.roster), config.attributes, pseudonyms))
    if config.reflect_levels:
        parts.append(read_levels(setup.path(config.reflect_levels), pseudonyms))
    combined = combine(
        parts,
        several_forms=[i for i, inst in instruments.items() if several_forms_per_learner(inst)],
    )
    if config.instruments is not None:
        combined.forms = {k: v for k, v in combined.forms.items() if k in config.instruments}
    accuracy = config.coded_replies.coder_accuracy if config.coded_replies else None
    return analyse(
        combined,
        instruments,
        title=config.title,
        waves=config.waves,
        attributes=config.attributes,
        min_group=config.min_group,
        design=Design(
            programme=config.programme.model_dump(),
            comparison=config.comparison.model_dump() if config.comparison else None,
            coded=coded,
            coder_accuracy=accuracy.model_dump() if accuracy else None,
        ),
    )


def write_report(
    out: str | Path,
    config: str | Path | None = None,
    *,
    strict: bool = False,
    json: str | Path | None = None,
    csv: str | Path | None = None,
    summary: str | Path | None = None,
    **options: Unpack[Options],
) -> Evaluation:
    """Read, analyse and write the HTML report to ``out``; return the evaluation (with its problems).

    Optionally also every figure as JSON (``json``), as one CSV per table in a folder (``csv``),
    and the one-page summary (``summary``). With ``strict``, any data problem raises
    :class:`DataError` and nothing is written.
    """
    evaluation = evaluate(setup_from_options(config, **options))
    if strict and evaluation.problems:
        raise DataError(evaluation.problems)
    save_report(evaluation, out)
    if json is not None:
        write_json(evaluation, json)
    if csv is not None:
        write_csv(evaluation, csv)
    if summary is not None:
        save_summary(evaluation, summary)
    return evaluation
