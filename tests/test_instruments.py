"""Scoring keys: the shipped facts, key-file errors, institution wording, and scoring itself.

Scoring is checked against a plain per-form reference written here (a loop over items, nothing
shared with the vectorised code), including missing answers, reverse keys and CARE's rule, and with
hypothesis properties.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import reference_score
from hypothesis import given, settings
from hypothesis import strategies as st

import courseware.instruments
from courseware.content import ContentError
from courseware.instruments import (
    TOTAL,
    Instrument,
    builtin_instrument,
    load_instrument,
    load_instruments,
    load_wording,
    reverse_keyed,
    score,
    shipped_wording,
)

from conftest import FIXTURES

EVAL = FIXTURES / "evaluation"
SHIPPED = ["jse-s", "jse-hp", "iri", "teq", "care", "proqol-5", "communication-confidence"]


def frame_of(instrument: Instrument, forms: list[dict[str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [[f.get(i) for i in instrument.items] for f in forms], columns=list(instrument.items)
    ).astype(float)


@pytest.mark.parametrize("instrument_id", SHIPPED)
def test_shipped_keys_load_and_licensed_wording_is_absent(instrument_id: str) -> None:
    instrument = builtin_instrument(instrument_id)
    if instrument_id == "communication-confidence":
        wording = shipped_wording(instrument)
        assert 6 <= len(wording.texts) <= 10 and set(wording.texts) == set(instrument.items)
        assert instrument.response.min == 1 and instrument.response.max == 5
    else:
        assert not instrument.wording_shipped
        assert instrument.shipped_text() == {}
        with pytest.raises(LookupError, match="not shipped"):
            shipped_wording(instrument)


def test_shipped_key_facts() -> None:
    keys = load_instruments()
    assert sorted(keys) == sorted(SHIPPED)
    for version in ("jse-s", "jse-hp"):
        jse = keys[version]
        assert len(jse.items) == 20 and (jse.response.min, jse.response.max) == (1, 7)
        assert jse.reverse == frozenset(map(str, [1, 3, 6, 7, 8, 11, 12, 14, 18, 19]))
        assert jse.scale(TOTAL).score_range(jse.response, "sum") == (20, 140)
        subscales = [s for s in jse.scales if s.id != TOTAL]
        assert [s.id for s in subscales] == [
            "perspective-taking",
            "compassionate-care",
            "standing-in-patients-shoes",
        ]
        assert all(s.uncertain for s in subscales)  # said so in the key and in the report
        assert sorted(i for s in subscales for i in s.items) == sorted(jse.items)
    iri = keys["iri"]
    assert len(iri.items) == 28 and (iri.response.min, iri.response.max) == (0, 4)
    assert iri.reverse == frozenset(map(str, [3, 4, 7, 12, 13, 14, 15, 18, 19]))
    assert [len(s.items) for s in iri.scales] == [7, 7, 7, 7]
    assert sorted(i for s in iri.scales for i in s.items) == sorted(iri.items)
    teq = keys["teq"]
    assert teq.reverse == frozenset(map(str, [2, 4, 7, 10, 11, 12, 14, 15]))
    assert teq.scale(TOTAL).score_range(teq.response, "sum") == (0, 64)
    care = keys["care"]
    assert care.spec.missing.max_missing == 2 and care.response.not_applicable
    assert care.scale(TOTAL).score_range(care.response, "sum") == (10, 50)
    proqol = keys["proqol-5"]
    assert len(proqol.items) == 30 and len(proqol.reverse) == 5
    assert proqol.reverse <= set(proqol.scale("burnout").items)
    assert not proqol.spec.total


def test_a_bad_key_names_file_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as caught:
        load_instrument(EVAL / "bad-key.yaml")
    text = str(caught.value)
    assert "bad-key.yaml:21: missing.source:" in text  # pydantic: not published/project-default

    # Fix the schema error; the whole-key checks then speak.
    fixed = (EVAL / "bad-key.yaml").read_text().replace("made-up", "project-default")
    path = tmp_path / "bad-key.yaml"
    path.write_text(fixed)
    with pytest.raises(ContentError) as caught:
        load_instrument(path)
    problems = {(p.line, p.field): p.message for p in caught.value.problems}
    assert "must not be shipped" in problems[(11, "items.0.text")]
    assert problems[(13, "reverse.1")] == "no item '3'"
    assert problems[(18, "subscales.0.items.1")] == "no item '9'"


def test_an_institution_key_replaces_the_shipped_one(tmp_path: Path) -> None:
    shipped = Path(courseware.instruments.__file__).parent / "keys" / "jse-s.yaml"
    own = tmp_path / "our-jse.yaml"
    own.write_text(
        shipped.read_text().replace(
            "items: [3, 6]\n    assignment: uncertain", "items: [3, 6]\n    assignment: published"
        )
    )
    keys = load_instruments([own])
    assert keys["jse-s"].source.endswith("our-jse.yaml")
    assert not keys["jse-s"].scale("standing-in-patients-shoes").uncertain


def test_wording_from_the_institution(tmp_path: Path) -> None:
    teq = builtin_instrument("teq")
    with pytest.raises(ContentError) as caught:
        load_wording(EVAL / "wording.yaml", teq)
    messages = [str(p) for p in caught.value.problems]
    assert any("wording.yaml:6: item: teq has no item '17'" in m for m in messages)
    assert any("no wording for teq items 3, 4" in m for m in messages)

    csv_path = tmp_path / "wording.csv"
    rows = ["instrument,item,text"] + [f'teq,{i},"Placeholder, item {i}"' for i in teq.items]
    csv_path.write_text("\n".join([*rows, "teq,2,Again", "iri,1,Another instrument"]) + "\n")
    with pytest.raises(ContentError) as caught:
        load_wording(csv_path, teq)
    assert [str(p) for p in caught.value.problems] == [f"{csv_path}:18: item: item '2' given twice"]
    csv_path.write_text("\n".join(rows) + "\n")
    wording = load_wording(csv_path, teq)
    assert wording.texts["16"] == "Placeholder, item 16"


def test_importing_instruments_stays_light() -> None:
    """A questionnaire widget loads keys in a learner's kernel: no pandas, numpy or scipy."""
    code = (
        "import sys, courseware.instruments as i; i.builtin_instrument('jse-s');"
        "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_scoring_matches_the_reference_with_missing_answers_and_reverse_keys() -> None:
    rng = np.random.default_rng(7)
    for instrument_id in SHIPPED:
        instrument = builtin_instrument(instrument_id)
        low, high = instrument.response.min, instrument.response.max
        forms = []
        for _ in range(60):
            answers: dict[str, float | None] = {
                i: float(rng.integers(low, high + 1)) for i in instrument.items
            }
            for item in rng.choice(instrument.items, rng.integers(0, 6), replace=False):
                answers[str(item)] = None
            forms.append(answers)
        scored = score(instrument, frame_of(instrument, forms))
        for row, form in enumerate(forms):
            expected = reference_score(instrument, form)
            for scale_id, value in expected.items():
                got = scored.iloc[row][scale_id]
                assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value)


def test_care_imputes_up_to_two_missing_and_rejects_three() -> None:
    care = builtin_instrument("care")
    answers = {str(i): 4.0 for i in range(1, 11)}
    two_missing = {**answers, "3": None, "7": None, "1": 1.0}
    three_missing = {**two_missing, "9": None}
    scored = score(care, frame_of(care, [answers, two_missing, three_missing]))
    assert scored[TOTAL].iloc[0] == 40
    # 7 answers of 4 and one of 1: mean 29/8 stands in for each of the two missing answers.
    assert scored[TOTAL].iloc[1] == pytest.approx(29 + 2 * 29 / 8)
    assert math.isnan(scored[TOTAL].iloc[2])
    assert scored[f"{TOTAL}_missing"].tolist() == [0, 2, 3]


def test_jse_reverse_keys_turn_answers_round() -> None:
    jse = builtin_instrument("jse-s")
    all_sevens = frame_of(jse, [{i: 7.0 for i in jse.items}])
    assert score(jse, all_sevens)[TOTAL].iloc[0] == 10 * 7 + 10 * 1
    ideal = frame_of(jse, [{i: (1.0 if i in jse.reverse else 7.0) for i in jse.items}])
    assert score(jse, ideal)[TOTAL].iloc[0] == 140


def test_out_of_range_values_are_refused_by_the_scorer() -> None:
    teq = builtin_instrument("teq")
    with pytest.raises(ValueError, match=r"outside 0\.\.4"):
        score(teq, frame_of(teq, [{"1": 5.0}]))


def answer_frames(instrument_id: str) -> st.SearchStrategy[pd.DataFrame]:
    instrument = builtin_instrument(instrument_id)
    low, high = instrument.response.min, instrument.response.max
    cell = st.one_of(st.none(), st.integers(low, high).map(float))
    row = st.lists(cell, min_size=len(instrument.items), max_size=len(instrument.items))
    return st.lists(row, min_size=1, max_size=8).map(
        lambda rows: pd.DataFrame(rows, columns=list(instrument.items)).astype(float)
    )


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SHIPPED), st.data())
def test_reversing_twice_is_identity(instrument_id: str, data: st.DataObject) -> None:
    instrument = builtin_instrument(instrument_id)
    frame = data.draw(answer_frames(instrument_id))
    twice = reverse_keyed(instrument, reverse_keyed(instrument, frame))
    pd.testing.assert_frame_equal(twice, frame, check_dtype=False)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SHIPPED), st.data())
def test_scores_stay_in_range(instrument_id: str, data: st.DataObject) -> None:
    instrument = builtin_instrument(instrument_id)
    frame = data.draw(answer_frames(instrument_id))
    scored = score(instrument, frame)
    for scale in instrument.scales:
        low, high = scale.score_range(instrument.response, instrument.spec.score)
        values = scored[scale.id].dropna()
        assert values.between(low - 1e-9, high + 1e-9).all()
        missing = scored[f"{scale.id}_missing"]
        assert (
            scored[scale.id].isna() == (missing > scale.max_missing) | (missing == len(scale.items))
        ).all()
