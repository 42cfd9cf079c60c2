"""Readers: the store's questionnaire events, survey-tool CSV exports, a roster, marking levels.

Every reader pseudonymises learner ids on the way in and reports each bad cell as a
:class:`DataProblem`; none raises on bad data (only on a mapping or key file that is itself wrong).

The store event this module reads, and the only place that parses it (``LIKERT_KIND``)::

    Event(kind="likert.answer", learner=<id>, module=<module id>, item=<instrument id>,
          value={"instrument": "jse-s", "wave": "pre", "answers": {"1": 5, "2": null, "3": "na"}})

``answers`` maps item ids to a whole number in the response range, ``null`` (unanswered) or ``"na"``
("does not apply", where the instrument offers it). A learner may submit again: the newest event for
a learner, instrument and wave is the answer that counts (earlier ones stay in the store).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..instruments import Instrument
from ..store import Event, Store
from ._problems import STORE_SOURCE, DataProblem, shown
from ._pseudonym import Pseudonyms
from ._responses import Responses, clean_values

LIKERT_KIND = "likert.answer"
"""Event kind of a submitted questionnaire (see the module docstring for its value)."""


def likert_value(
    instrument: str, wave: str, answers: Mapping[str, int | str | None]
) -> dict[str, Any]:
    """The ``value`` of a ``likert.answer`` event, for widgets that write one."""
    return {"instrument": instrument, "wave": wave, "answers": dict(answers)}


def _event_problem(event: Event, column: str, kind: Any, message: str) -> DataProblem:
    return DataProblem(STORE_SOURCE, event.id, column, kind, message, "event skipped")


def read_store(
    store: Store,
    instruments: Mapping[str, Instrument],
    waves: list[str],
    pseudonyms: Pseudonyms,
) -> Responses:
    """Every learner's newest ``likert.answer`` per instrument and wave, checked like an export."""
    problems: list[DataProblem] = []
    latest: dict[tuple[str, str, str], Event] = {}
    superseded = 0
    for event in store.events(kind=LIKERT_KIND):
        value = event.value
        if not (
            isinstance(value, dict)
            and isinstance(value.get("instrument"), str)
            and isinstance(value.get("wave"), str)
            and isinstance(value.get("answers"), dict)
        ):
            problems.append(
                _event_problem(
                    event, "value", "bad-event", "expected {instrument, wave, answers} in the value"
                )
            )
            continue
        if value["instrument"] not in instruments:
            problems.append(
                _event_problem(
                    event,
                    "value.instrument",
                    "unknown-instrument",
                    f"no scoring key for {shown(value['instrument'])}",
                )
            )
            continue
        if value["wave"] not in waves:
            problems.append(
                _event_problem(
                    event,
                    "value.wave",
                    "unknown-wave",
                    f"{shown(value['wave'])} is not a wave (waves: {', '.join(waves)})",
                )
            )
            continue
        key = (event.learner, value["instrument"], value["wave"])
        superseded += key in latest
        latest[key] = event
    result = Responses(problems=problems, learner_columns={STORE_SOURCE: "learner"})
    if superseded:
        result.notes.append(
            f"{superseded} store answer(s) were replaced by a later answer from the same learner to"
            " the same instrument and wave; the newest counts and the earlier ones stay in the store."
        )
    by_instrument: dict[str, list[Event]] = {}
    for (_, instrument_id, _), event in latest.items():
        by_instrument.setdefault(instrument_id, []).append(event)
    for instrument_id, events in by_instrument.items():
        instrument = instruments[instrument_id]
        known = set(instrument.items)
        for event in events:
            for item in event.value["answers"]:
                if item not in known:
                    problems.append(
                        DataProblem(
                            STORE_SOURCE,
                            event.id,
                            f"answers.{item}",
                            "unknown-item",
                            f"{instrument_id} has no item {shown(item)}",
                            "answer ignored",
                        )
                    )
        raw = pd.DataFrame.from_records(
            [{k: v for k, v in e.value["answers"].items() if k in known} for e in events],
            columns=list(instrument.items),
        )
        ids = np.array([e.id for e in events])
        values, found = clean_values(
            raw,
            instrument,
            labels={},
            source=STORE_SOURCE,
            rows=ids,
            column_names={i: f"answers.{i}" for i in instrument.items},
        )
        problems.extend(found)
        head = pd.DataFrame(
            {
                "learner": [pseudonyms(e.learner) for e in events],
                "wave": [e.value["wave"] for e in events],
                "source": STORE_SOURCE,
                "row": ids,
            }
        )
        result.forms[instrument_id] = pd.concat([head, values], axis=1)
    return result


CODED_KINDS = ("compose.coded", "vignette.coded")
"""Store events holding a coded written reply: ``value`` is ``Coding.to_dict()`` (the coder's wire
format in ``courseware.feedback``); ``item`` is the exercise (or case node), ``module`` the
module. This reader is the only place in analytics that parses them."""

CODED_COLUMNS = [
    "learner",
    "phase",
    "kind",
    "module",
    "item",
    "provides_space",
    "nurse",
    "model_version",
    "row",
]


def read_coded_replies(
    store: Store,
    before: Mapping[str, Iterable[str]],
    after: Mapping[str, Iterable[str]],
    pseudonyms: Pseudonyms,
) -> tuple[pd.DataFrame, list[DataProblem]]:
    """Each learner's newest coding of each reply the evaluation counts as ``before`` or ``after``.

    ``before`` and ``after`` each map ``"modules"`` and ``"items"`` to the module ids and exercise
    ids whose replies count in that phase (a reply matching both is reported and left out).
    ``provides_space`` stays None where the coder was unsure; ``nurse`` counts the confident NURSE
    codes only (unsure codes never count).
    """
    from ..feedback import CODES, NURSE_CODES, SCHEMA

    before_modules, before_items = (
        frozenset(before.get("modules", ())),
        frozenset(before.get("items", ())),
    )
    after_modules, after_items = (
        frozenset(after.get("modules", ())),
        frozenset(after.get("items", ())),
    )
    problems: list[DataProblem] = []
    known, nurse_codes = frozenset(CODES), frozenset(NURSE_CODES)
    latest: dict[tuple[str, str, str, str], tuple[int | None, str, bool | None, int, str]] = {}
    for kind in CODED_KINDS:
        for event in store.events(kind=kind):
            is_before = event.module in before_modules or event.item in before_items
            is_after = event.module in after_modules or event.item in after_items
            if not (is_before or is_after):
                continue
            if is_before and is_after:
                problems.append(
                    _event_problem(event, "item", "bad-event", "counted as both before and after")
                )
                continue
            value = event.value
            if not isinstance(value, dict) or value.get("schema") != SCHEMA:
                problems.append(
                    _event_problem(
                        event, "value.schema", "bad-event", f"not a coding (schema {SCHEMA})"
                    )
                )
                continue
            codes, space = value.get("codes"), value.get("provides_space")
            if not isinstance(codes, list) or not all(
                isinstance(c, dict) and c.get("code") in known for c in codes
            ):
                problems.append(
                    _event_problem(event, "value.codes", "bad-event", "codes must be known codes")
                )
                continue
            if space is not None and not isinstance(space, bool):
                problems.append(
                    _event_problem(
                        event,
                        "value.provides_space",
                        "bad-event",
                        "provides_space must be true, false or null",
                    )
                )
                continue
            # Only confident codes count (``unsure`` is never read); a code counts once per reply.
            nurse = len({c["code"] for c in codes} & nurse_codes)
            version = str(value.get("model_version", ""))
            phase = "before" if is_before else "after"
            key = (event.learner, kind, event.module, event.item)
            latest[key] = (event.id, phase, space, nurse, version)
    seen: dict[str, str] = {}
    records = [
        (
            seen[learner] if learner in seen else seen.setdefault(learner, pseudonyms(learner)),
            phase,
            kind,
            module,
            item,
            space,
            nurse,
            version,
            row,
        )
        for (learner, kind, module, item), (row, phase, space, nurse, version) in latest.items()
    ]
    return pd.DataFrame.from_records(records, columns=CODED_COLUMNS), problems
