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
from nbclient import NotebookClient
from scipy import stats
from statsmodels.stats.power import TTestPower
from test_instruments import reference_score

from courseware.analytics import (
    LIKERT_KIND,
    Pseudonyms,
    cohen_dz,
    combine,
    cronbach_alpha,
    detectable_dz,
    evaluate,
    hedges_g_av,
    likert_value,
    load_config,
    paired,
    pairs_needed,
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
