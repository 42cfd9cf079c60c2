"""Loading scoring keys: the ones shipped in ``keys/`` and any an institution supplies.

A key file is checked twice: pydantic checks each field's shape, then :func:`key_problems` checks the
key as a whole (every reverse-keyed and subscale item exists, the stated score range is right, no
item wording is present for an instrument whose wording we must not ship). Every problem names the
file, line and field.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..content import ContentError, Problem, YamlDocument, read_yaml, validate
from ._models import TOTAL, Instrument, InstrumentSpec

KEYS_DIR = Path(__file__).resolve().parent / "keys"


def key_problems(spec: InstrumentSpec, doc: YamlDocument) -> list[Problem]:
    """Whole-key checks that pydantic's per-field validation cannot make."""
    problems: list[Problem] = []
    response = spec.response
    if response.min >= response.max:
        problems.append(doc.problem(["response", "max"], "must be greater than response.min"))
    for point in response.anchors:
        if not response.min <= point <= response.max:
            problems.append(
                doc.problem(["response", "anchors", point], f"anchor {point} is outside the range")
            )
    if isinstance(spec.items, int):
        if spec.items < 2:
            problems.append(doc.problem(["items"], "an instrument needs at least 2 items"))
        items = [str(i) for i in range(1, spec.items + 1)]
    else:
        items = []
        for i, item in enumerate(spec.items):
            if item.id in items:
                problems.append(doc.problem(["items", i, "id"], f"duplicate item {item.id!r}"))
            items.append(item.id)
            if item.text and spec.wording != "shipped":
                problems.append(
                    doc.problem(
                        ["items", i, "text"],
                        "item wording must not be shipped for this instrument"
                        " (wording: institution-supplied); load it from the institution's file",
                    )
                )
    known = set(items)
    for i, item_id in enumerate(spec.reverse):
        if item_id not in known:
            problems.append(doc.problem(["reverse", i], f"no item {item_id!r}"))
    if len(set(spec.reverse)) != len(spec.reverse):
        problems.append(doc.problem(["reverse"], "an item is listed twice"))
    seen_scales = {TOTAL} if spec.total else set()
    for s, sub in enumerate(spec.subscales):
        if sub.id in seen_scales:
            problems.append(doc.problem(["subscales", s, "id"], f"duplicate scale id {sub.id!r}"))
        seen_scales.add(sub.id)
        for i, item_id in enumerate(sub.items):
            if item_id not in known:
                problems.append(doc.problem(["subscales", s, "items", i], f"no item {item_id!r}"))
        if len(set(sub.items)) != len(sub.items):
            problems.append(doc.problem(["subscales", s, "items"], "an item is listed twice"))
        if sub.max_missing is not None and sub.max_missing >= len(sub.items):
            problems.append(
                doc.problem(["subscales", s, "max_missing"], "must be fewer than the items")
            )
    if not spec.total and not spec.subscales:
        problems.append(doc.problem(["total"], "with no total, give at least one subscale"))
    if spec.missing.max_missing >= len(items):
        problems.append(doc.problem(["missing", "max_missing"], "must be fewer than the items"))
    if spec.score_range is not None and not problems:
        n = len(items)
        expected = (
            (float(response.min), float(response.max))
            if spec.score == "mean"
            else (float(response.min * n), float(response.max * n))
        )
        if tuple(spec.score_range) != expected:
            problems.append(
                doc.problem(
                    ["score_range"],
                    f"the items and response range give {expected[0]:g} to {expected[1]:g}",
                )
            )
    return problems


def load_instrument(path: str | Path) -> Instrument:
    """Load and check one key file; raise :class:`ContentError` listing every problem."""
    doc = read_yaml(Path(path))
    spec = validate(doc, InstrumentSpec)
    problems = key_problems(spec, doc)
    if problems:
        raise ContentError(problems)
    return Instrument(spec, doc.name)


def builtin_instrument_paths() -> list[Path]:
    return sorted(KEYS_DIR.glob("*.yaml"))


def load_instruments(extra_keys: Iterable[str | Path] = ()) -> dict[str, Instrument]:
    """The shipped keys, then each institution-supplied key (which replaces a shipped one by id)."""
    found: dict[str, Instrument] = {}
    problems: list[Problem] = []
    for path in [*builtin_instrument_paths(), *map(Path, extra_keys)]:
        try:
            instrument = load_instrument(path)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        found[instrument.id] = instrument
    if problems:
        raise ContentError(problems)
    return found


def builtin_instrument(instrument_id: str) -> Instrument:
    """One shipped key by id (e.g. ``"jse-s"``)."""
    path = KEYS_DIR / f"{instrument_id}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in builtin_instrument_paths())
        raise KeyError(f"no shipped instrument {instrument_id!r} (shipped: {known})")
    return load_instrument(path)
