"""Training the heads is one deterministic command: same corpus and split, same bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

from courseware.feedback import load_coder
from courseware.feedback._corpus import (
    corpus_files,
    default_corpus_dirs,
    load_corpus,
    write_splits,
)
from courseware.feedback.train import main


def test_training_is_deterministic_and_the_heads_load(tmp_path: Path) -> None:
    replies = tmp_path / "replies"
    replies.mkdir()
    for path in corpus_files(default_corpus_dirs())[::8][:6]:
        shutil.copy(path, replies / path.name)
    corpus = load_corpus([replies])
    ids = [s.id for s in corpus.statements]
    splits = dict.fromkeys(ids[:4], "train") | {ids[4]: "dev", ids[5]: "test"}
    write_splits(tmp_path / "splits.yaml", splits)
    args = ["--corpus", str(replies), "--splits", str(tmp_path / "splits.yaml")]
    assert main([*args, "-o", str(tmp_path / "one.npz")]) == 0
    assert main([*args, "-o", str(tmp_path / "two.npz")]) == 0
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    coder = load_coder(heads=tmp_path / "one.npz")
    assert coder.heads.meta["corpus_digest"] == corpus.digest
    assert coder.heads.meta["train_statements"] == sum(v == "train" for v in splits.values())
    coding = coder.code("I'm scared.", "I know exactly how you feel.")
    assert coding.model_version == coder.version
