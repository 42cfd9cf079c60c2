"""The labelled reply corpus: validation with lines, the split by statement, and the shipped heads
matching the corpus they were trained on."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from courseware.content import ContentError
from courseware.feedback._coder import HEADS_PATH, Heads
from courseware.feedback._corpus import (
    SETTINGS,
    Statement,
    corpus_files,
    default_corpus_dirs,
    load_corpus,
    load_splits,
    make_splits,
    write_splits,
)

REPO = Path(__file__).resolve().parent.parent
SPLITS = REPO / "corpus" / "splits.yaml"

GOOD = """\
id: {id}
setting: {setting}
stream: undergraduate
speaker: Patient (Chloe, 16)
context: Seen in the ED at 2 am.
statement: Are you going to tell my mum?
replies:
  - text: It sounds like tonight got really overwhelming. What was going on?
    codes:
      naming: sounds like tonight got really overwhelming
      exploring: What was going on?
  - text: Okay. Can you roll your sleeve up?
    codes: {{}}
"""


def write(folder: Path, ident: str, text: str) -> Path:
    path = folder / f"{ident}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_repository_corpus_is_valid_and_split_by_statement() -> None:
    corpus = load_corpus()
    assert corpus.statements, "corpus/replies has no statement files"
    splits = load_splits(SPLITS, corpus)  # raises if a statement is unassigned or in two splits
    assert set(splits) == {s.id for s in corpus.statements}
    assert set(splits.values()) == {"train", "dev", "test"}


def test_shipped_heads_were_trained_on_this_corpus() -> None:
    digest = load_corpus().digest
    trained = Heads.load(HEADS_PATH).meta["corpus_digest"]
    assert trained == digest, (
        "courseware/feedback/heads.npz was trained on another version of corpus/replies: "
        "regenerate the split if statements were added (courseware feedback split), then "
        "retrain (courseware feedback train) and commit both"
    )


def test_a_good_file_loads(tmp_path: Path) -> None:
    write(tmp_path, "ed-chloe", GOOD.format(id="ed-chloe", setting="emergency department"))
    corpus = load_corpus([tmp_path])
    (statement,) = corpus.statements
    first, second = statement.replies
    assert first.codes == {"naming", "exploring"}
    (span,) = first.spans("exploring")
    assert first.text[span[0] : span[1]] == "What was going on?"
    assert second.codes == frozenset()


def test_problems_name_file_line_and_field(tmp_path: Path) -> None:
    text = GOOD.format(id="wrong-id", setting="the moon")
    text = text.replace("naming: sounds like", "naming: seems like")
    text = text.replace("exploring:", "exploringg:")
    write(tmp_path, "ed-chloe", text)
    with pytest.raises(ContentError) as caught:
        load_corpus([tmp_path])
    messages = [str(p) for p in caught.value.problems]
    assert any(":1: id: id 'wrong-id' differs from the file name 'ed-chloe'" in m for m in messages)
    assert any(":2: setting: unknown setting" in m for m in messages)
    assert any(":10: replies.0.codes.naming: 'seems like" in m for m in messages)
    assert any(":11: replies.0.codes.exploringg: unknown code" in m for m in messages)
    assert all("ed-chloe.yaml:" in m for m in messages)


def test_missing_fields_and_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "a", "id: a\nsetting: ward\n")
    b = GOOD.format(id="b", setting="ward").replace(
        "Okay. Can you roll your sleeve up?",
        "It sounds like tonight got really overwhelming. What was going on?",
    )
    write(tmp_path, "b", b)
    with pytest.raises(ContentError) as caught:
        load_corpus([tmp_path])
    text = str(caught.value)
    for field in ("stream", "speaker", "statement", "replies"):
        assert f"a.yaml:1: {field}: missing" in text
    assert "b.yaml:12: replies.1.text: duplicate reply" in text


def test_the_same_id_in_two_folders_is_refused(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        write(tmp_path / name, "x", GOOD.format(id="x", setting="ward"))
    with pytest.raises(ContentError, match="same id as"):
        load_corpus([tmp_path / "one", tmp_path / "two"])


def fake(ident: str, setting: str) -> Statement:
    return Statement(ident, setting, "cpd", "P", "", "s", (), Path(f"{ident}.yaml"))


def test_split_is_stratified_deterministic_and_by_statement(tmp_path: Path) -> None:
    statements = [fake(f"{s[:3]}-{i}", s) for s in SETTINGS for i in range(6 + len(s) % 3)]
    splits = make_splits(statements)
    assert make_splits(list(reversed(statements))) == splits
    assert set(splits) == {s.id for s in statements}
    shares = collections.Counter(splits.values())
    n = len(statements)
    assert abs(shares["test"] - 0.20 * n) <= 1 and abs(shares["dev"] - 0.15 * n) <= 1
    for setting in SETTINGS:
        assert {splits[s.id] for s in statements if s.setting == setting} == {
            "train",
            "dev",
            "test",
        }
    write_splits(tmp_path / "splits.yaml", splits)
    assert load_splits(tmp_path / "splits.yaml") == splits


def test_split_file_problems(tmp_path: Path) -> None:
    (tmp_path / "replies").mkdir()
    write(tmp_path / "replies", "b", GOOD.format(id="b", setting="ward"))
    (tmp_path / "splits.yaml").write_text(
        "train:\n  - a\ndev:\n  - a\ntest: []\n", encoding="utf-8"
    )
    with pytest.raises(ContentError) as caught:
        load_splits(tmp_path / "splits.yaml", load_corpus([tmp_path / "replies"]))
    text = str(caught.value)
    assert "splits.yaml:4: dev.0: a is already in train" in text
    assert "a has no file in the corpus" in text
    assert "b.yaml:1: id: statement is in no split" in text


def test_digest_ignores_the_folder(tmp_path: Path) -> None:
    files = corpus_files(default_corpus_dirs())
    assert files
    for path in files[:3]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    from courseware.feedback._corpus import corpus_digest

    assert corpus_digest(files[:3]) == corpus_digest(corpus_files([tmp_path]))
