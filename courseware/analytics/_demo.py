"""Made-up evaluation data, so the whole pipeline can be tried (and timed) without real learners.

:func:`write_demo` writes a REDCap-style export (JSE-S and the project's confidence scale at three
waves), its mapping file, a roster, REFLECT marks and an evaluation file naming them all. Learner
ids are invented; answers come from a simple latent-trait model with a modest training effect, some
unanswered items and some learners lost between waves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..instruments import Instrument, builtin_instrument
from ._analysis import DEFAULT_WAVES
from ._read_levels import REFLECT_LEVELS

STREAMS = ["foundation-year", "undergraduate", "postgraduate", "cpd"]
STAGES = ["medical-foundation-year", "undergraduate", "foundation-doctor"]
REDCAP_EVENTS = {"pre": "pre_arm_1", "post": "post_arm_1", "follow-up": "followup_arm_1"}
PREFIXES = {"jse-s": "jse_", "communication-confidence": "conf_"}


def _answers(
    rng: np.random.Generator, instrument: Instrument, trait: np.ndarray, missing: float
) -> np.ndarray:
    """Item answers for latent ``trait`` values (one per row); reverse-keyed items answered reversed."""
    low, high = instrument.response.min, instrument.response.max
    middle, spread = (low + high) / 2, (high - low) / 4
    n, k = len(trait), len(instrument.items)
    raw = middle + 0.6 + spread * (0.6 * trait[:, None] + rng.normal(0, 0.9, (n, k)))
    values = np.clip(np.rint(raw), low, high)
    flip = np.array([item in instrument.reverse for item in instrument.items])
    values[:, flip] = low + high - values[:, flip]
    values[rng.random((n, k)) < missing] = np.nan
    return values


def demo_export(learners: int, *, seed: int = 0, effect: float = 0.35) -> pd.DataFrame:
    """A REDCap-style export: one row per learner and wave, answers as text like REDCap writes."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"learner{i:05d}@example.ac.uk" for i in range(learners)])
    base = rng.normal(0, 1, learners)
    frames = []
    for step, wave in enumerate(DEFAULT_WAVES):
        stays = rng.random(learners) < (1.0, 0.85, 0.7)[step]
        trait = base[stays] + effect * min(step, 1) + rng.normal(0, 0.45, stays.sum())
        columns: dict[str, object] = {
            "record_id": ids[stays],
            "redcap_event_name": REDCAP_EVENTS[wave],
        }
        for instrument_id, prefix in PREFIXES.items():
            instrument = builtin_instrument(instrument_id)
            values = _answers(rng, instrument, trait, 0.02)
            text = np.where(np.isnan(values), "", np.nan_to_num(values).astype(int).astype(str))
            for j, item in enumerate(instrument.items):
                columns[f"{prefix}{item}"] = text[:, j]
            columns[f"{instrument_id.replace('-', '_')}_complete"] = 2
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


MAPPING = """\
# Mapping for the demo REDCap export (see docs/evaluation.md for the format).
format: redcap
learner: record_id
wave:
  column: redcap_event_name
  values:
    pre_arm_1: pre
    post_arm_1: post
    followup_arm_1: follow-up
instruments:
  jse-s:
    pattern: "jse_{item}"
  communication-confidence:
    pattern: "conf_{item}"
ignore:
  - "*_complete"
"""

CONFIG = """\
title: Empathy teaching evaluation (demo data)
waves: [pre, post, follow-up]
min_group: 5
surveys:
  - export: redcap-export.csv
    mapping: redcap-mapping.yaml
roster: roster.csv
reflect_levels: reflect-levels.csv
store: responses.sqlite
programme:
  description: >-
    Four online modules on responding to patients' emotions (NURSE statements, blocking
    behaviours, breaking bad news, reflective writing), with a seminar, for undergraduate and
    postgraduate learners.
  modules: 4
  hours: 6
comparison:
  attribute: stream
  intervention: undergraduate
  comparison: postgraduate
  primary: ancova
coded_replies:
  before: {modules: [demo-before]}
  after: {modules: [demo-after]}
  coder_accuracy:
    macro_f1: 0.7
    source: made-up figure for the demo
"""

CODER_VERSION = "demo-coder-0"


def write_demo(folder: str | Path, learners: int = 300, *, seed: int = 0) -> Path:
    """Write demo exports, mapping, roster, marks and ``evaluation.yaml``; return the latter."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    export = demo_export(learners, seed=seed)
    export.to_csv(folder / "redcap-export.csv", index=False)
    (folder / "redcap-mapping.yaml").write_text(MAPPING, encoding="utf-8")
    ids = export["record_id"].drop_duplicates().to_numpy()
    pd.DataFrame(
        {
            "learner": ids,
            "stream": rng.choice(STREAMS, len(ids), p=[0.2, 0.5, 0.2, 0.1]),
            "stage": rng.choice(STAGES, len(ids)),
            "year": rng.choice(["2024", "2025"], len(ids)),
        }
    ).to_csv(folder / "roster.csv", index=False)
    marked = rng.random(len(ids)) < 0.6
    pd.DataFrame(
        {
            "learner": ids[marked],
            "level": rng.choice(REFLECT_LEVELS, int(marked.sum()), p=[0.15, 0.4, 0.35, 0.1]),
        }
    ).to_csv(folder / "reflect-levels.csv", index=False)
    _coded_replies(folder / "responses.sqlite", ids, rng)
    config = folder / "evaluation.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def _coded_replies(path: Path, ids: np.ndarray, rng: np.random.Generator) -> None:
    """One coded written reply per learner before the teaching and (for most) one after.

    Written as the reply coder stores them (``compose.coded`` events, the ``Coding`` wire format),
    with more NURSE codes after the teaching and some replies the coder is unsure about.
    """
    from ..feedback import NURSE_CODES, CodeResult, Coding
    from ..store import Event, SQLiteStore

    path.unlink(missing_ok=True)
    with SQLiteStore(path) as store:
        for phase, module, rate in (("before", "demo-before", 0.35), ("after", "demo-after", 0.6)):
            answered = ids if phase == "before" else ids[rng.random(len(ids)) < 0.85]
            for learner in answered:
                codes = [c for c in NURSE_CODES if rng.random() < rate / 2]
                draw = rng.random()
                space = None if draw < 0.08 else bool(codes) and draw < 0.08 + rate + 0.2
                coding = Coding(
                    codes=tuple(CodeResult(c, 0.8) for c in codes),
                    unsure=(CodeResult("reassurance", 0.5),) if space is None else (),
                    model_version=CODER_VERSION,
                    provides_space=space,
                )
                store.append(
                    Event(str(learner), module, "reply-1", "compose.coded", coding.to_dict())
                )
