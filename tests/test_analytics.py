"""Analytics: statistics against pingouin and statsmodels, every kind of bad data, suppression,
pseudonymity, the store reader, the command line and the dashboard notebook."""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from helpers import reference_score
from nbclient import NotebookClient
from scipy import stats
from statsmodels.stats.power import TTestPower

from courseware.analytics import (
    LIKERT_KIND,
    Pseudonyms,
    cohen_dz,
    combine,
    compare_groups,
    cronbach_alpha,
    detectable_dz,
    evaluate,
    hedges_g_av,
    likert_value,
    load_config,
    paired,
    pairs_needed,
    read_levels,
    read_store,
    render_report,
    setup_from_options,
    write_demo,
)
from courseware.analytics._stats import kruskal
from courseware.cli import main
from courseware.content import ContentError
from courseware.instruments import TOTAL, builtin_instrument, load_instruments
from courseware.store import Event, SQLiteStore

from conftest import FIXTURES, REPO

EVAL = FIXTURES / "evaluation"
WAVES = ["pre", "post", "follow-up"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo"), 160, seed=3)


def survey(name: str) -> tuple[str, str]:
    return (str(EVAL / f"{name}.csv"), str(EVAL / f"{name}-mapping.yaml"))


# --- statistics against independent implementations -------------------------------------------


def test_paired_statistics_match_pingouin() -> None:
    rng = np.random.default_rng(11)
    before = rng.normal(100, 10, 45).round()
    after = (before + rng.normal(3, 7, 45)).round()
    result = paired(before, after)
    t = pg.ttest(after, before, paired=True).iloc[0]
    assert result.t == pytest.approx(t["T"]) and result.p_t == pytest.approx(t["p_val"])
    assert result.df == t["dof"]
    w = pg.wilcoxon(after, before, correction=False).iloc[0]
    assert result.wilcoxon_w == pytest.approx(w["W_val"])
    assert result.p_wilcoxon == pytest.approx(w["p_val"])
    assert result.dz.estimate == pytest.approx(
        pg.compute_effsize(after, before, paired=True, eftype="cohen_dz")
    )
    assert result.g_av.estimate == pytest.approx(
        pg.compute_effsize(after, before, paired=True, eftype="hedges")
    )
    assert result.detectable_dz == pytest.approx(
        TTestPower().solve_power(nobs=45, alpha=0.05, power=0.8), rel=1e-5
    )


def test_dz_interval_is_the_exact_noncentral_t_one() -> None:
    rng = np.random.default_rng(5)
    diff = rng.normal(0.4, 1, 30)
    dz = cohen_dz(diff)
    n, t_obs = len(diff), dz.estimate * math.sqrt(len(diff))
    # At the bounds, the observed t sits at the 97.5th and 2.5th percentiles.
    assert stats.nct.cdf(t_obs, n - 1, dz.low * math.sqrt(n)) == pytest.approx(0.975)
    assert stats.nct.cdf(t_obs, n - 1, dz.high * math.sqrt(n)) == pytest.approx(0.025)
    # For a large sample it agrees with pingouin's normal-theory interval.
    big = rng.normal(0.4, 1, 3000)
    dz_big = cohen_dz(big)
    approx = pg.compute_esci(dz_big.estimate, len(big), len(big), paired=True, decimals=6)
    assert dz_big.low == pytest.approx(approx[0], abs=0.005)
    assert dz_big.high == pytest.approx(approx[1], abs=0.005)


def test_g_av_interval_agrees_with_a_bootstrap() -> None:
    rng = np.random.default_rng(9)
    before = rng.normal(50, 8, 400)
    after = before + rng.normal(2.5, 6, 400)
    g = hedges_g_av(before, after)
    boot = stats.bootstrap(
        (before, after),
        lambda b, a: pg.compute_effsize(a, b, paired=True, eftype="hedges"),
        paired=True,
        vectorized=False,
        n_resamples=1500,
        method="percentile",
        random_state=np.random.default_rng(1),
    ).confidence_interval
    width = boot.high - boot.low
    assert g.low == pytest.approx(boot.low, abs=0.15 * width)
    assert g.high == pytest.approx(boot.high, abs=0.15 * width)


def test_alpha_matches_pingouin_with_missing_answers() -> None:
    rng = np.random.default_rng(3)
    trait = rng.normal(0, 1, 80)
    items = pd.DataFrame(
        np.clip(np.rint(3 + trait[:, None] + rng.normal(0, 1, (80, 6))), 1, 5)
    ).astype(float)
    items.iloc[[2, 9, 40], [1, 4, 0]] = np.nan
    alpha, n = cronbach_alpha(items)
    expected, _ = pg.cronbach_alpha(items, nan_policy="listwise")
    assert n == 77 and alpha.estimate == pytest.approx(expected)
    # pingouin's interval uses the row count before listwise deletion; compare on complete rows.
    _, ci = pg.cronbach_alpha(items.dropna())
    assert (round(alpha.low, 3), round(alpha.high, 3)) == (ci[0], ci[1])


def test_power_and_kruskal_match_statsmodels_and_pingouin() -> None:
    assert pairs_needed(0.5) == math.ceil(TTestPower().solve_power(0.5, alpha=0.05, power=0.8))
    assert pairs_needed(0.5) == 34
    for n in (5, 12, 100):
        assert detectable_dz(n) == pytest.approx(
            TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8), rel=1e-5
        )
    rng = np.random.default_rng(2)
    groups = [rng.normal(m, 1, 20) for m in (0, 0.3, 0.8)]
    frame = pd.DataFrame({"v": np.concatenate(groups), "g": np.repeat(["a", "b", "c"], 20)})
    expected = pg.kruskal(frame, dv="v", between="g").iloc[0]
    assert kruskal(groups) == pytest.approx((expected["H"], expected["p_unc"]))


# --- the whole pipeline against independent scoring -------------------------------------------


def test_report_numbers_match_independent_scoring(demo: Path) -> None:
    evaluation = evaluate(load_config(demo))
    jse = builtin_instrument("jse-s")
    export = pd.read_csv(demo.parent / "redcap-export.csv", dtype=str, keep_default_na=False)
    totals: dict[tuple[str, str], float] = {}
    keyed_rows = []
    for _, row in export.iterrows():
        answers = {i: (float(row[f"jse_{i}"]) if row[f"jse_{i}"] else None) for i in jse.items}
        wave = {"pre_arm_1": "pre", "post_arm_1": "post", "followup_arm_1": "follow-up"}[
            row["redcap_event_name"]
        ]
        totals[(row["record_id"], wave)] = reference_score(jse, answers)[TOTAL]
        if wave == "pre":
            keyed_rows.append(
                [
                    None if v is None else (8 - v if i in jse.reverse else v)
                    for i, v in answers.items()
                ]
            )
    table = pd.Series(totals).unstack()
    both = table[["pre", "post"]].dropna()
    expected = pg.ttest(both["post"], both["pre"], paired=True).iloc[0]
    row = evaluation.changes.query("instrument == 'jse-s' and scale == 'total' and after == 'post'")
    got = row.iloc[0]
    assert got["n"] == len(both)
    assert got["t"] == pytest.approx(expected["T"]) and got["p_t"] == pytest.approx(
        expected["p_val"]
    )
    assert got["dz"] == pytest.approx(
        pg.compute_effsize(both["post"], both["pre"], paired=True, eftype="cohen_dz")
    )
    assert got["mean_before"] == pytest.approx(both["pre"].mean())
    alpha, _ = pg.cronbach_alpha(pd.DataFrame(keyed_rows, dtype=float), nan_policy="listwise")
    rel = evaluation.reliability.query(
        "instrument == 'jse-s' and scale == 'total' and wave == 'pre'"
    )
    assert rel.iloc[0]["alpha"] == pytest.approx(alpha)


# --- bad data: every kind names its row and column --------------------------------------------

EXPECTED_PROBLEMS = [
    ("bad-redcap.csv", 1, "notes_free", "unknown-column"),
    ("bad-redcap.csv", 4, "conf_1", "out-of-range"),
    ("bad-redcap.csv", 5, "conf_2", "not-a-number"),
    ("bad-redcap.csv", 6, "record_id", "duplicate"),
    ("bad-redcap.csv", 7, "record_id", "duplicate"),
    ("bad-redcap.csv", 8, "record_id", "missing-learner"),
    ("bad-redcap.csv", 9, "redcap_event_name", "unknown-wave"),
    ("bad-redcap.csv", 10, "conf_1", "not-a-number"),
    ("bad-redcap.csv", 10, "conf_2", "not-a-number"),
    ("bad-redcap.csv", 11, "conf_8", "out-of-range"),
    ("levels.csv", 5, "level", "bad-level"),
    ("levels.csv", 6, "learner", "duplicate"),
    ("levels.csv", 7, "learner", "duplicate"),
    ("qualtrics.csv", 1, "Q_extra", "unknown-column"),
    ("qualtrics.csv", 5, "Q1_1", "not-a-number"),
]


def test_every_kind_of_bad_data_names_row_and_column() -> None:
    setup = setup_from_options(
        surveys=[survey("bad-redcap"), survey("qualtrics"), survey("msforms-care")],
        levels=str(EVAL / "levels.csv"),
        min_group=1,
    )
    evaluation = evaluate(setup)
    found = [(Path(p.source).name, p.row, p.column, p.kind) for p in evaluation.problems]
    assert found == EXPECTED_PROBLEMS
    for problem in evaluation.problems:
        assert f"row {problem.row}, column {problem.column!r}" in str(problem)
    # What the problems left: a2's forms are scored with the bad cell imputed; the duplicated
    # learner has no pre form; a4's post form lost two answers and is not scored.
    scores = evaluation.scores["communication-confidence"]
    pseudo = Pseudonyms()
    assert len(scores) == 8 and not scores["learner"].isin(["a1", "a2", pseudo("a1")]).any()
    assert sorted(scores["total"].round(3).dropna().tolist()) == [
        26.0, 30.857, 30.857, 31.0, 37.0, 40.0
    ]  # fmt: skip


def test_care_from_microsoft_forms_imputes_and_averages_patients() -> None:
    evaluation = evaluate(setup_from_options(surveys=[survey("msforms-care")], min_group=1))
    care = evaluation.scores["care"].set_index("wave")["total"]
    # Patient 1: 31. Patient 2: two "does not apply", 38 over 8 items -> 38 + 2 * 4.75.
    # Patient 3: three "does not apply", not scored. The learner's score is the mean.
    assert care["pre"] == pytest.approx((31 + 47.5) / 2)
    assert care["post"] == 47
    completion = evaluation.completion.set_index("wave")
    assert completion.loc["pre", "forms"] == 3 and completion.loc["pre", "scored"] == 1
    assert not evaluation.problems


def test_levels_read_from_the_marking_registry_export(tmp_path: Path) -> None:
    """The registry export (``courseware export --registry``) feeds the REFLECT levels as it is:
    its learner column, the rubric's grade ids, its other columns known, unlevelled rows noted."""
    from courseware.grading import REGISTRY_COLUMNS
    from courseware.grading._exports import write_csv

    def row(student: str, status: str, level: str) -> dict[str, object]:
        return {"student_id": student, "assignment": "essay", "status": status, "level": level}

    path = tmp_path / "essay.csv"
    write_csv(
        path,
        REGISTRY_COLUMNS,
        [
            row("s1", "graded", "critical-transformative"),
            row("s2", "graded", "reflection"),
            row("s3", "graded", "habitual"),
            row("s4", "not-submitted", ""),
            row("s5", "graded", '=HYPERLINK("x")'),
            row("s6", "graded", "thoughtful-transformative"),
        ],
    )
    pseudonyms = Pseudonyms(b"k" * 32)
    read = read_levels(path, pseudonyms)
    levels = dict(zip(read.levels["learner"], read.levels["level"], strict=True))
    assert levels == {
        pseudonyms("s1"): "critical reflection",
        pseudonyms("s2"): "reflection",
        pseudonyms("s3"): "habitual action",
    }
    assert [(p.row, p.column, p.kind) for p in read.problems] == [
        (6, "level", "bad-level"),
        (7, "level", "bad-level"),
    ]
    assert read.notes == [
        "essay.csv: 1 registry row(s) with no agreed level (not graded yet, or not marked by level) left out."
    ]


def test_a_wrong_mapping_file_names_its_line(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "learner: id\nwave:\n  fixed: pre\ninstruments:\n  jse-s:\n    columns:\n      q1: 21\n"
        "  nonesuch:\n    pattern: 'x{item}'\n"
    )
    with pytest.raises(ContentError) as caught:
        evaluate(setup_from_options(surveys=[(str(EVAL / "qualtrics.csv"), str(mapping))]))
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (7, "instruments.jse-s.columns.q1"),
        (8, "instruments.nonesuch"),
    ]


def test_the_store_reader(store: SQLiteStore) -> None:
    def answer(learner: str, value: object) -> None:
        store.append(Event(learner, "m", "questionnaire", LIKERT_KIND, value))

    full = {str(i): 4 for i in range(1, 9)}
    answer("ann", likert_value("communication-confidence", "pre", {**full, "1": 1}))
    answer("ann", likert_value("communication-confidence", "pre", full))  # replaces the first
    answer("ann", likert_value("communication-confidence", "post", {**full, "2": 7, "9": 3}))
    answer("bob", likert_value("care", "pre", {**{str(i): 5 for i in range(1, 11)}, "3": "na"}))
    answer("bob", likert_value("nonesuch", "pre", {}))
    answer("bob", likert_value("care", "later", {}))
    answer("bob", "not a form")
    answer("cat", likert_value("communication-confidence", "pre", {**full, "4": "lots"}))
    responses = read_store(store, load_instruments(), WAVES, Pseudonyms(b"k"))
    found = [(p.row, p.column, p.kind) for p in responses.problems]
    assert sorted(found) == [
        (3, "answers.2", "out-of-range"),
        (3, "answers.9", "unknown-item"),
        (5, "value.instrument", "unknown-instrument"),
        (6, "value.wave", "unknown-wave"),
        (7, "value", "bad-event"),
        (8, "answers.4", "not-a-number"),
    ]
    assert all(str(p).startswith(f"store event {p.row}, field ") for p in responses.problems)
    assert "1 store answer(s) were replaced" in responses.notes[0]
    evaluation_forms = combine([responses]).forms
    forms = evaluation_forms["communication-confidence"]
    pre = forms.loc[forms["learner"].eq(Pseudonyms(b"k")("ann")) & forms["wave"].eq("pre")]
    assert pre["1"].tolist() == [4.0]  # the newest answer counts
    assert math.isnan(evaluation_forms["care"]["3"].iloc[0])  # "does not apply"


# --- suppression and pseudonymity ------------------------------------------------------------


def test_small_groups_are_withheld_with_their_complement(demo: Path) -> None:
    evaluation = evaluate(setup_from_options(demo, min_group=21))
    cohorts = evaluation.cohorts
    assert cohorts["suppressed"].any() and (~cohorts["suppressed"]).any()
    shown = cohorts.loc[~cohorts["suppressed"]]
    assert shown["n"].ge(21).all()
    assert cohorts.loc[cohorts["suppressed"], ["n", "mean_before", "dz"]].isna().all().all()
    for _, group in cohorts.groupby(["instrument", "scale", "attribute"]):
        assert group["suppressed"].sum() != 1 or len(group) == 1
    for table in (evaluation.summary, evaluation.reliability, evaluation.changes):
        assert table.loc[~table["suppressed"], "n"].ge(21).all()
    html = render_report(evaluation)
    sizes = [int(n) for n in re.findall(r'data-n="(\d+)"', html)]
    assert sizes and min(sizes) >= 21


def test_a_cohort_below_the_minimum_shows_no_figures(tmp_path: Path) -> None:
    config = write_demo(tmp_path, 4, seed=1)
    evaluation = evaluate(load_config(config))
    assert evaluation.changes["suppressed"].all()
    assert evaluation.completion["invited"].isna().all()
    html = render_report(evaluation)
    assert "data-n=" not in html and "Withheld: fewer than 5 learners" in html


def test_the_report_is_pseudonymous_and_escapes_data(demo: Path) -> None:
    html = render_report(
        evaluate(setup_from_options(demo, surveys=[survey("bad-redcap"), survey("qualtrics")]))
    )
    roster = pd.read_csv(demo.parent / "roster.csv")
    assert "example.ac.uk" not in html and "Sam.Student" not in html
    assert not any(learner in html for learner in roster["learner"].head(50))
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# --- the command line and the dashboard -------------------------------------------------------


def test_cli_writes_the_report_and_strict_mode_refuses_bad_data(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(demo), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert "wrote" in capsys.readouterr().out
    refused = tmp_path / "refused.html"
    args = ["report", "--survey", *survey("bad-redcap"), "--strict", "-o", str(refused)]
    assert main(args) == 1
    assert not refused.exists()
    assert "bad-redcap.csv row 4, column 'conf_1'" in capsys.readouterr().err


@pytest.mark.notebook
def test_dashboard_notebook_runs(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = REPO / "dashboards" / "evaluation.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    monkeypatch.setenv("COURSEWARE_EVALUATION", str(demo))
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


# --- imports a centre sends: clear errors, never a traceback, never silently different numbers --

CONF = [f"conf_{i}" for i in range(1, 9)]
CONF_MAPPING = "learner: id\nwave: {column: wave}\ninstruments:\n  communication-confidence: {pattern: 'conf_{item}'}\n"


def conf_export(rows: list[tuple[str, str, list[float | None]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"id": who, "wave": wave, **dict(zip(CONF, answers, strict=True))}
            for who, wave, answers in rows
        ]
    )


def write_evaluation(folder: Path, surveys: list[dict[str, object]], **extra: object) -> Path:
    import yaml

    config = folder / "evaluation.yaml"
    config.write_text(yaml.safe_dump({"waves": ["pre", "post"], "surveys": surveys, **extra}))
    return config


def test_an_export_with_a_header_and_no_rows_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(
        "learner: id\nwave: {fixed: pre}\ninstruments:\n  teq: {pattern: 'teq_{item}'}\n"
    )
    (tmp_path / "e.csv").write_text("id," + ",".join(f"teq_{i}" for i in range(1, 17)) + "\n")
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                "--survey",
                str(tmp_path / "e.csv"),
                str(tmp_path / "m.yaml"),
                "-o",
                str(out),
            ]
        )
        == 1
    )
    assert (
        "e.csv: the export has a header row but no answers (file skipped)"
        in capsys.readouterr().err
    )
    assert not out.exists()


def test_a_european_excel_export_gives_the_same_numbers(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows = [
        (f"s{i}", wave, [float(v) for v in rng.integers(1, 6, 8)])
        for i in range(12)
        for wave in ("pre", "post")
    ]
    frame = conf_export(rows)
    frame.loc[0, "conf_1"] = 2.5  # a decimal answer, out of range either way: same problem
    (tmp_path / "m.yaml").write_text(CONF_MAPPING)
    frame.to_csv(tmp_path / "comma.csv", index=False)
    # Excel in a German or French locale: UTF-8 BOM, ';' between fields, decimal commas.
    text = frame.to_csv(index=False, sep=";", decimal=",")
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    results = {}
    for name in ("comma", "excel"):
        source = (str(tmp_path / f"{name}.csv"), str(tmp_path / "m.yaml"))
        ev = evaluate(setup_from_options(surveys=[source], min_group=5))
        results[name] = ev
    comma, excel = results["comma"], results["excel"]
    assert [(p.row, p.column, p.kind) for p in excel.problems] == [(2, "conf_1", "out-of-range")]
    assert [(p.row, p.column, p.kind) for p in comma.problems] == [(2, "conf_1", "out-of-range")]
    pd.testing.assert_frame_equal(comma.changes, excel.changes)
    assert any("decimal comma" in note for note in excel.notes)


def test_qualtrics_format_without_its_header_rows_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (EVAL / "qualtrics.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "plain.csv").write_text(lines[0] + "".join(lines[3:]), encoding="utf-8")
    out = tmp_path / "r.html"
    args = ["report", "--survey", str(tmp_path / "plain.csv"), str(EVAL / "qualtrics-mapping.yaml")]
    assert main([*args, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "plain.csv row 3: the 2 Qualtrics header rows" in err and "format: plain" in err
    assert not out.exists()
    # The real Qualtrics export still reads, with spreadsheet row numbers.
    ev = evaluate(setup_from_options(surveys=[survey("qualtrics")], min_group=1))
    assert ("qualtrics.csv", 5, "Q1_1") in [(p.source, p.row, p.column) for p in ev.problems]


def test_a_named_export_that_cannot_be_read_stops_the_run_unless_optional(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.yaml").write_text(CONF_MAPPING)
    conf_export([(f"s{i}", w, [3.0] * 8) for i in range(6) for w in ("pre", "post")]).to_csv(
        tmp_path / "good.csv", index=False
    )
    good = {"export": "good.csv", "mapping": "m.yaml"}
    missing = {"export": "renamed.csv", "mapping": "m.yaml"}
    out = tmp_path / "r.html"
    config = write_evaluation(tmp_path, [good, missing])
    assert main(["report", str(config), "-o", str(out)]) == 1
    assert "renamed.csv" in capsys.readouterr().err and not out.exists()
    config = write_evaluation(tmp_path, [good, {**missing, "optional": True}])
    assert main(["report", str(config), "-o", str(out)]) == 0
    assert out.exists()


def test_the_report_prints_no_local_paths(tmp_path: Path, demo: Path) -> None:
    key = tmp_path / "our-keys" / "communication-confidence.yaml"
    key.parent.mkdir()
    key.write_text((REPO / "courseware/instruments/keys/communication-confidence.yaml").read_text())
    ev = evaluate(setup_from_options(demo, keys=[str(key)], surveys=[survey("bad-redcap")]))
    html = render_report(ev)
    assert "communication-confidence.yaml" in html
    for folder in (str(tmp_path), str(demo.parent), str(REPO), str(EVAL), "site-packages"):
        assert folder not in html


def test_no_alpha_table_without_data(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text("learner,stream\na,x\n")
    html = render_report(evaluate(setup_from_options(roster=str(tmp_path / "roster.csv"))))
    assert "Cronbach&#39;s alpha (95% CI" not in html and "Cronbach's alpha (95% CI" not in html
    assert "so no alpha is shown" in html


# --- the controlled comparison and the behavioural outcome, against statsmodels and pingouin ----


def test_compare_groups_matches_statsmodels_and_pingouin() -> None:
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(21)
    pre_i, pre_c = rng.normal(90, 12, 38), rng.normal(94, 15, 51)
    post_i = pre_i * 0.8 + 25 + rng.normal(0, 8, 38)
    post_c = pre_c * 0.8 + 19 + rng.normal(0, 10, 51)
    result = compare_groups(pre_i, post_i, pre_c, post_c)
    welch = pg.ttest(post_i, post_c, correction=True).iloc[0]
    assert result.welch_t == pytest.approx(welch["T"], rel=1e-10)
    assert result.welch_df == pytest.approx(welch["dof"], rel=1e-10)
    assert result.p_welch == pytest.approx(welch["p_val"], rel=1e-10)
    low, high = stats.ttest_ind(post_i, post_c, equal_var=False).confidence_interval()
    assert (result.difference.low, result.difference.high) == pytest.approx((low, high))
    g = pg.compute_effsize(post_i, post_c, eftype="hedges")
    assert result.g.estimate == pytest.approx(g, rel=1e-10)
    ci = pg.compute_esci(g, 38, 51, eftype="hedges", decimals=10)
    assert (result.g.low, result.g.high) == pytest.approx(tuple(ci), abs=1e-9)
    data = pd.DataFrame(
        {
            "pre": np.concatenate([pre_i, pre_c]),
            "post": np.concatenate([post_i, post_c]),
            "arm": ["i"] * 38 + ["c"] * 51,
        }
    )
    fit = smf.ols("post ~ C(arm, Treatment('c')) + pre", data).fit()
    name = "C(arm, Treatment('c'))[T.i]"
    assert result.adjusted.estimate == pytest.approx(fit.params[name], rel=1e-10)
    assert result.p_ancova == pytest.approx(fit.pvalues[name], rel=1e-8)
    assert result.ancova_df == int(fit.df_resid)
    ci_sm = fit.conf_int().loc[name]
    assert (result.adjusted.low, result.adjusted.high) == pytest.approx(tuple(ci_sm), rel=1e-10)
    ancova_pg = pg.ancova(data, dv="post", covar="pre", between="arm").iloc[0]
    assert result.ancova_t**2 == pytest.approx(ancova_pg["F"], rel=1e-8)


def test_the_declared_comparison_in_the_report_matches_statsmodels(
    demo: Path, tmp_path: Path
) -> None:
    import statsmodels.formula.api as smf
    import yaml

    config = yaml.safe_load(demo.read_text())
    config["comparison"] = {
        "attribute": "stream",
        "intervention": "undergraduate",
        "comparison": "postgraduate",
    }
    for key in ("roster", "reflect_levels"):
        config[key] = str(demo.parent / config[key])
    for source in config["surveys"]:
        source["export"] = str(demo.parent / source["export"])
        source["mapping"] = str(demo.parent / source["mapping"])
    (tmp_path / "evaluation.yaml").write_text(yaml.safe_dump(config))
    key = Pseudonyms(b"comparison")
    ev = evaluate(load_config(tmp_path / "evaluation.yaml"), pseudonyms=key)
    assert ev.design.comparison is not None and ev.design.comparison["primary"] == "ancova"
    row = ev.comparison.query("instrument == 'jse-s'").iloc[0]
    # Recompute from the per-learner scores and the roster's own stream column.
    roster = pd.read_csv(demo.parent / "roster.csv")
    streams = pd.Series(
        roster["stream"].to_numpy(), index=roster["learner"].map(key), name="stream"
    )
    scores = ev.scores["jse-s"]
    wide = scores.pivot(index="learner", columns="wave", values="total")[["pre", "post"]].dropna()
    data = wide.join(streams, how="inner").query("stream in ['undergraduate', 'postgraduate']")
    fit = smf.ols("post ~ C(stream, Treatment('postgraduate')) + pre", data).fit()
    name = "C(stream, Treatment('postgraduate'))[T.undergraduate]"
    assert row["adjusted"] == pytest.approx(fit.params[name], rel=1e-9)
    assert (row["adjusted_low"], row["adjusted_high"]) == pytest.approx(
        tuple(fit.conf_int().loc[name]), rel=1e-9
    )
    a = data.loc[data["stream"].eq("undergraduate"), "post"]
    b = data.loc[data["stream"].eq("postgraduate"), "post"]
    assert row["n_intervention"] == len(a) and row["n_comparison"] == len(b)
    assert row["welch_t"] == pytest.approx(pg.ttest(a, b, correction=True).iloc[0]["T"])
    assert row["g"] == pytest.approx(pg.compute_effsize(a, b, eftype="hedges"))
    html = render_report(ev)
    assert "Controlled comparison" in html and "ANCOVA, declared primary" in html


def coding(
    space: bool | None, nurse: list[str], unsure: list[str] = (), version: str = "m-1"
) -> dict[str, object]:  # type: ignore[assignment]
    from courseware.content import CodeResult, Coding

    return Coding(
        codes=tuple(CodeResult(c, 0.9) for c in nurse),
        unsure=tuple(CodeResult(c, 0.5) for c in unsure),
        model_version=version,
        provides_space=space,
    ).to_dict()


def test_the_coded_reply_outcome_matches_statsmodels_and_pingouin(
    store: SQLiteStore, tmp_path: Path
) -> None:
    import yaml
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(8)
    raw: dict[str, list[tuple[str, bool | None, int]]] = {}
    for i in range(30):
        learner = f"learner{i}@example.ac.uk"
        for phase, module, items, p_space in (
            ("before", "m-intro", ["compose-1", "compose-2"], 0.3),
            ("after", "m-nurse", ["compose-3", "compose-4"], 0.7),
        ):
            if phase == "after" and i >= 26:
                continue  # four learners never reach the later module
            for item in items:
                nurse = [c for c in ("naming", "exploring", "supporting") if rng.random() < p_space]
                draw = rng.random()
                space = None if draw < 0.1 else bool(nurse) and draw < 0.1 + p_space
                raw.setdefault(learner, []).append((phase, space, len(nurse)))
                # An unsure code never counts; the first coding of a reply is replaced.
                store.append(Event(learner, module, item, "compose.coded", coding(False, [])))
                store.append(
                    Event(
                        learner, module, item, "compose.coded", coding(space, nurse, ["respecting"])
                    )
                )
    store.append(Event("x", "m-intro", "compose-1", "compose.coded", {"schema": 99}))
    store.append(Event("x", "m-other", "compose-9", "compose.coded", coding(True, ["naming"])))
    store.append(
        Event(
            "y",
            "m-nurse",
            "case-1/n2",
            "vignette.coded",
            {"schema": 1, "codes": [{"code": "bogus"}]},
        )
    )
    config = {
        "waves": ["pre", "post"],
        "store": str(store.path),
        "coded_replies": {
            "before": {"modules": ["m-intro"]},
            "after": {"modules": ["m-nurse"], "items": ["case-1/n2"]},
            "coder_accuracy": {
                "macro_f1": 0.71,
                "source": "reply coder benchmark, held-out statements",
            },
        },
    }
    (tmp_path / "evaluation.yaml").write_text(yaml.safe_dump(config))
    ev = evaluate(load_config(tmp_path / "evaluation.yaml"))
    assert sorted((p.column, p.kind) for p in ev.problems) == [
        ("value.codes", "bad-event"),
        ("value.schema", "bad-event"),
    ]
    assert ev.coder_versions == ["m-1"]
    for phase in ("before", "after"):
        replies = [r for rows in raw.values() for r in rows if r[0] == phase]
        definite = [r[1] for r in replies if r[1] is not None]
        got = ev.behaviour.set_index("phase").loc[phase]
        assert got["replies"] == len(replies)
        assert got["space_unsure"] == sum(r[1] is None for r in replies)
        low, high = proportion_confint(sum(definite), len(definite), method="wilson")
        assert got["space_share"] == pytest.approx(sum(definite) / len(definite))
        assert (got["space_share_low"], got["space_share_high"]) == pytest.approx((low, high))
        nurse = np.array([r[2] for r in replies], dtype=float)
        t_ci = stats.t.interval(0.95, len(nurse) - 1, nurse.mean(), stats.sem(nurse))
        assert (got["nurse_per_reply_low"], got["nurse_per_reply_high"]) == pytest.approx(t_ci)
    # Paired: per learner, the share of their own definite replies, and mean NURSE codes.
    per = {
        learner: {
            phase: (
                np.mean([r[1] for r in rows if r[0] == phase and r[1] is not None] or [np.nan]),
                np.mean([r[2] for r in rows if r[0] == phase]),
            )
            for phase in ("before", "after")
            if any(r[0] == phase for r in rows)
        }
        for learner, rows in raw.items()
    }
    both = {k: v for k, v in per.items() if len(v) == 2}
    nurse_before = [v["before"][1] for v in both.values()]
    nurse_after = [v["after"][1] for v in both.values()]
    expected = pg.ttest(nurse_after, nurse_before, paired=True).iloc[0]
    got = ev.behaviour_pairs.set_index("measure").loc["nurse"]
    assert got["n"] == 26 and got["t"] == pytest.approx(expected["T"])
    ci = stats.ttest_rel(nurse_after, nurse_before).confidence_interval()
    assert (got["change_low"], got["change_high"]) == pytest.approx((ci.low, ci.high))
    assert tuple(expected["CI95"]) == pytest.approx((ci.low, ci.high), abs=0.006)  # pingouin rounds
    space = [(v["before"][0], v["after"][0]) for v in both.values()]
    space = [s for s in space if not np.isnan(s[0]) and not np.isnan(s[1])]
    share = ev.behaviour_pairs.set_index("measure").loc["space"]
    assert share["n"] == len(space)
    assert share["t"] == pytest.approx(
        pg.ttest([s[1] for s in space], [s[0] for s in space], paired=True).iloc[0]["T"]
    )
    html = render_report(ev)
    assert "macro-F1 0.71" in html and "declared in the evaluation file" in html
    assert "example.ac.uk" not in html
    # Under the minimum group size nothing is shown.
    small = evaluate(setup_from_options(tmp_path / "evaluation.yaml", min_group=27))
    assert small.behaviour_pairs["suppressed"].all()
    assert (
        small.behaviour_pairs["change"].isna().all() if "change" in small.behaviour_pairs else True
    )


def test_the_attrition_flow_accounts_for_every_learner(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(70):
        rows.append((f"s{i}", "pre", [float(v) for v in rng.integers(1, 6, 8)]))
        if i < 58:
            answers: list[float | None] = [float(v) for v in rng.integers(1, 6, 8)]
            if i < 11:
                answers[0] = answers[1] = None  # two missing: not scored (the rule allows one)
            rows.append((f"s{i}", "post", answers))
    rows += [(f"late{i}", "post", [3.0] * 8) for i in range(6)]
    (tmp_path / "m.yaml").write_text(CONF_MAPPING)
    conf_export(rows).to_csv(tmp_path / "e.csv", index=False)
    ev = evaluate(setup_from_options(surveys=[(str(tmp_path / "e.csv"), str(tmp_path / "m.yaml"))]))
    flow = ev.attrition.groupby("stage", sort=False)
    stages = {stage: int(part["n"].iloc[0]) for stage, part in flow}
    assert stages == {
        "seen": 76,
        "answered-before": 70,
        "answered-after": 64,
        "both-waves": 58,
        "scored": 47,
    }
    reasons = dict(zip(ev.attrition["reason"], ev.attrition["count"], strict=True))
    assert reasons["post form not scored (too many missing items)"] == 11
    assert reasons["answered pre only"] == 12 and reasons["answered post only"] == 6
    assert ev.changes.query("scale == 'total' and after == 'post'").iloc[0]["n"] == 47
    baseline = ev.baseline.iloc[0]
    assert (baseline["n_completers"], baseline["n_others"]) == (47, 23)
    html = re.sub(r"<[^>]+>", "", render_report(ev))
    assert "Scored at both waves (analysed): 47" in html
    assert "post form not scored (too many missing items): 11" in html


def test_json_and_csv_carry_every_figure_and_keep_suppression(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("COURSEWARE_PSEUDONYM_KEY", "same key, same order, same sums")
    args = ["report", str(demo), "--min-group", "21", "-o", str(tmp_path / "r.html")]
    args += ["--json", str(tmp_path / "f.json"), "--csv", str(tmp_path / "csv")]
    args += ["--summary", str(tmp_path / "summary.html")]
    assert main(args) == 0
    ev = evaluate(setup_from_options(demo, min_group=21))
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["min_group"] == 21
    changes = doc["tables"]["changes"]
    assert "noncentral" in changes["method"]
    for got, want in zip(changes["rows"], ev.changes.to_dict(orient="records"), strict=True):
        for key in ("n", "g_av", "g_av_low", "dz", "p_t"):
            assert got[key] == want[key] or (got[key] is None and math.isnan(want[key]))
    cohorts = doc["tables"]["cohorts"]["rows"]
    hidden = [r for r in cohorts if r["suppressed"]]
    assert hidden and all(r["n"] is None and r["dz"] is None for r in hidden)
    assert all(r["n"] >= 21 for r in cohorts if not r["suppressed"])
    back = pd.read_csv(tmp_path / "csv" / "changes.csv")
    assert back["g_av"].tolist() == ev.changes["g_av"].tolist()  # full precision
    assert back["method"].str.contains("Hedges").all()
    csv_cohorts = pd.read_csv(tmp_path / "csv" / "cohorts.csv")
    assert csv_cohorts.loc[csv_cohorts["suppressed"], ["n", "dz"]].isna().all().all()
    roster = pd.read_csv(demo.parent / "roster.csv")["learner"]
    everything = (tmp_path / "f.json").read_text() + "".join(
        p.read_text() for p in (tmp_path / "csv").iterdir()
    )
    assert not any(learner in everything for learner in roster)
    summary = (tmp_path / "summary.html").read_text()
    assert "Hedges&#39; g_av" in summary  # the outcome line, escaped as every text in the page
    assert "not necessarily randomised" in summary and "Four online modules" in summary
    assert (
        "<dt>Modules</dt><dd>4</dd>" in summary and "<dt>Teaching hours</dt><dd>6</dd>" in summary
    )
    assert doc["coder"]["model_versions"] == ["demo-coder-0"]
    assert doc["coder"]["declared_accuracy"]["macro_f1"] == 0.7
    assert {r["phase"] for r in doc["tables"]["behaviour"]["rows"]} == {"before", "after"}
    assert doc["tables"]["comparison"]["rows"] and "ANCOVA" in doc["tables"]["comparison"]["method"]
