"""``courseware feedback code IN.csv -o OUT.csv``: rows kept in order, bad rows named and skipped,
formulas neutralised, learners' text otherwise untouched."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from helpers import run_courseware, run_program

STATEMENT = "I keep thinking it's cancer. My mum died of it when she was my age."


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``courseware feedback ARGS…``; the caller checks its exit code."""
    return run_courseware("feedback", *args, expect_ok=False)


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_codes_a_csv_and_reports_each_bad_row(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["learner", "statement", "reply"])
    writer.writerow(["u1", STATEMENT, "That sounds really frightening. What worries you most?"])
    writer.writerow(["u2", STATEMENT, ""])
    writer.writerow(["u3", STATEMENT, "x" * 50_001])
    writer.writerow(
        ["=cmd|' /C calc'!A0", STATEMENT, "-Don't worry, <b>it's</b> probably nothing."]
    )
    writer.writerow(["u5", STATEMENT])
    data = buffer.getvalue().encode("utf-8")
    data += b"u6," + STATEMENT.encode() + b",I know exactly how you feel \xff\xfe\n"
    data += 'u7,"Line one\nline two","I know exactly how you feel, 😢"\n'.encode()
    source.write_bytes(data)
    out = tmp_path / "out.csv"

    done = run("code", source, "-o", out)

    assert done.returncode == 1
    err = done.stderr
    assert f"{source}:3: row 2: the reply is empty" in err
    assert f"{source}:4: row 3: the statement or reply is longer than 50,000 characters" in err
    assert f"{source}:6: row 5: has 2 cells" in err
    assert f"{source}:7: row 6: not UTF-8" in err
    assert "5 replies coded" not in err and "3 replies coded, 4 bad rows" in err
    got = rows(out)
    assert list(got[0]) == [
        "learner",
        "statement",
        "reply",
        "codes",
        "provides_space",
        "confidence",
    ]
    assert [r["learner"] for r in got] == [
        "u1",
        "u2",
        "u3",
        "'=cmd|' /C calc'!A0",
        "u5",
        "u6",
        "u7",
    ]
    assert got[0]["codes"] == "naming;exploring" and got[0]["provides_space"] == "yes"
    assert 0.5 <= float(got[0]["confidence"]) <= 1.0
    for bad in (got[1], got[2], got[4], got[5]):
        assert bad["codes"] == bad["provides_space"] == bad["confidence"] == ""
    assert got[2]["reply"] == "x" * 50_001  # kept whole, only not coded
    assert got[3]["reply"] == "'-Don't worry, <b>it's</b> probably nothing."
    assert "reassurance" in got[3]["codes"].split(";") and got[3]["provides_space"] == "no"
    assert got[5]["reply"] == "I know exactly how you feel \ufffd\ufffd"
    assert got[6]["statement"] == "Line one\nline two"
    assert got[6]["reply"] == "I know exactly how you feel, 😢"
    assert got[6]["codes"] == "false_understanding"


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("patient,answer\nhello,there\n", encoding="utf-8")
    done = run("code", source, "-o", tmp_path / "out.csv")
    assert done.returncode == 1
    assert "no statement or reply column" in done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_all_good_rows_exit_zero(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "\ufeffstatement,reply\nI'm scared.,What's going through your mind?\n", encoding="utf-8"
    )
    done = run("code", source, "-o", tmp_path / "out.csv")
    assert done.returncode == 0, done.stderr
    (row,) = rows(tmp_path / "out.csv")
    assert row["codes"] == "exploring"


def test_a_broken_corpus_is_one_message_for_split_and_train(tmp_path: Path) -> None:
    """``split``, ``train`` and ``python -m courseware.feedback.train`` name the bad file and line
    and exit 1, without a traceback, and write nothing."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "broken.yaml").write_text("id: not-broken\nsetting: the moon\n", encoding="utf-8")
    out = tmp_path / "splits.yaml"
    module = [sys.executable, "-m", "courseware.feedback.train", "--corpus", str(corpus)]
    heads = ["-o", str(tmp_path / "heads.npz")]
    for done in (
        run("split", "--corpus", corpus, "-o", out),
        run("train", "--corpus", corpus, "-o", tmp_path / "heads.npz"),
        run_program(*module, *heads, expect_ok=False),
    ):
        assert done.returncode == 1, done.stderr
        assert "broken.yaml:1: id: id 'not-broken' differs from the file name" in done.stderr
        assert "Traceback" not in done.stderr
    assert not out.exists() and not (tmp_path / "heads.npz").exists()
