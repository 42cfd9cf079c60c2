"""Train the reply coder's heads on the corpus: ``python -m courseware.feedback.train``.

Deterministic: the same corpus and splits give the same ``heads.npz``, byte for byte (one BLAS
thread, fixed folds, no random state, fixed zip timestamps). Fits on the train statements only;
the thresholds (and the regularisation strength) are chosen on the development statements; the
test statements are never read here.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..content import CODES
from ._coder import HEADS_PATH, Analysis, Heads, _sigmoid, analyse
from ._corpus import Corpus, Reply, Statement, default_corpus_dirs, load_corpus, load_splits
from ._encoder import load_encoder
from ._features import Vocabulary

__all__ = ["HEADS_PATH", "TrainingData", "clause_labels", "encode_corpus", "main", "train"]

MIN_DF = {"w": 2, "c": 3}
C_GRID = (4.0,)
FOLDS = 5
PRECISION_SURE = 0.85  # a code is given without "perhaps" where dev precision reaches this
RECALL_SURE = 0.90  # and left out without "perhaps" below where dev recall stays this high
MAX_BAND = 0.15
SLOPPY_COPIES = 2  # per train reply: learners type in a hurry, and the test has to hold then too
Array = npt.NDArray[np.float32]


_NEIGHBOURS = dict(
    zip(
        "qwertyuiopasdfghjklzxcvbnm",
        [
            "wa",
            "qes",
            "wrd",
            "etf",
            "ryg",
            "tuh",
            "yij",
            "uok",
            "ipl",
            "ol",
            "qsz",
            "awdx",
            "sefc",
            "drgv",
            "fthb",
            "gyjn",
            "hukm",
            "jil",
            "kop",
            "zsx",
            "xdc",
            "cfv",
            "vgb",
            "bhn",
            "njm",
            "mk",
        ],
        strict=True,
    )
)


def _sloppy(text: str, kinds: set[str], rng: random.Random) -> str:
    """How learners type in a hurry: typos, no capitals, no punctuation, no apostrophes."""
    if "typos" in kinds:
        out = []
        for word in re.split(r"(\s+)", text):
            if len(word) > 3 and word.isalpha() and rng.random() < 0.12:
                j = rng.randrange(1, len(word) - 1)
                op = rng.randrange(4)
                if op == 0:
                    word = word[: j - 1] + word[j] + word[j - 1] + word[j + 1 :]
                elif op == 1:
                    word = word[:j] + word[j + 1 :]
                elif op == 2:
                    word = word[:j] + word[j] + word[j:]
                else:
                    near = _NEIGHBOURS.get(word[j].lower(), word[j])
                    word = word[:j] + rng.choice(near) + word[j + 1 :]
            out.append(word)
        text = "".join(out)
    if "lower" in kinds:
        text = text.lower()
    if "apostrophes" in kinds:
        text = re.sub(r"['\u2019]", "", text)
    if "punctuation" in kinds:
        text = re.sub(r"[^\w\s']", "", text)
        text = re.sub(r"[ \t]{2,}", " ", text)
    return text


def sloppy_copy(reply: Reply, rng: random.Random) -> Reply | None:
    """The reply as a hurried learner might type it, with its evidence carried along: the text is
    cut at every evidence boundary and each piece altered alone, so each code's words stay an
    exact part of the new text. None when nothing would change."""
    kinds = {k for k in ("typos", "lower", "apostrophes", "punctuation") if rng.random() < 0.5}
    cuts = {0, len(reply.text)}
    for code in reply.codes:
        for a, b in reply.spans(code):
            cuts.update((a, b))
    bounds = sorted(cuts)
    pieces = {(a, b): _sloppy(reply.text[a:b], kinds, rng) for a, b in itertools.pairwise(bounds)}
    text = "".join(pieces.values())
    if text == reply.text or not text.strip():
        return None
    evidence: dict[str, tuple[str, ...]] = {}
    for code in reply.codes:
        spans = []
        for a, b in reply.spans(code):
            words = "".join(v for (s, e), v in pieces.items() if a <= s and e <= b).strip()
            if words:
                spans.append(words)
        evidence[code] = tuple(spans)
    return Reply(text, evidence)


def default_splits_path() -> Path:
    return default_corpus_dirs()[0].parent / "splits.yaml"


def clause_labels(analysis: Analysis, reply: Reply) -> npt.NDArray[np.int8]:
    """(clauses, codes): 1 where a clause carries a code's evidence (the overlap is at least half
    of the clause or half of the evidence)."""
    out = np.zeros((len(analysis.clauses), len(CODES)), dtype=np.int8)
    for k, code in enumerate(CODES):
        for s, e in reply.spans(code):
            for j, (a, b) in enumerate(analysis.clauses):
                overlap = min(b, e) - max(a, s)
                if overlap > 0 and (overlap * 2 >= b - a or overlap * 2 >= e - s):
                    out[j, k] = 1
    return out


@dataclass
class TrainingData:
    """Encoded replies of some statements, with their labels and groups (statement index)."""

    analyses: list[Analysis]
    replies: list[Reply]
    groups: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int8]  # (replies, codes)


def encode_corpus(
    statements: Sequence[Statement], encoder: Any, sloppy: bool = False
) -> TrainingData:
    """Encode every reply of ``statements`` (one batched pass); with ``sloppy``, also sloppy
    copies of each (seeded by the reply's text, so training stays deterministic)."""
    vecs = encoder.embed([s.statement for s in statements])
    items: list[tuple[int, Reply]] = []
    for g, s in enumerate(statements):
        for r in s.replies:
            items.append((g, r))
            for seed in range(SLOPPY_COPIES if sloppy else 0):
                copy = sloppy_copy(r, random.Random(f"{seed}:{r.text}"))
                if copy is not None:
                    items.append((g, copy))
    pairs = [(vecs[g], r.text) for g, r in items]
    replies = [r for _, r in items]
    groups = np.array([g for g, _ in items], dtype=np.int64)
    labels = np.array([[c in r.codes for c in CODES] for r in replies], dtype=np.int8)
    return TrainingData(analyse(encoder, pairs), replies, groups, labels.reshape(-1, len(CODES)))


def _sparse(vocab: Vocabulary, docs: Sequence[set[str]]) -> Any:
    from scipy import sparse

    rows, cols, vals = [], [], []
    for i, doc in enumerate(docs):
        c, v = vocab.sparse(doc)
        rows.extend([i] * len(c))
        cols.extend(c.tolist())
        vals.extend(v.tolist())
    return sparse.csr_matrix(
        (np.array(vals, dtype=np.float64), (rows, cols)), shape=(len(docs), len(vocab.terms))
    )


def _fit(x: Any, y: npt.NDArray[np.int8], c: float) -> tuple[Array, float]:
    """Weights and bias of one logistic regression (all-negative or all-positive: a constant)."""
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        return np.zeros(x.shape[1], dtype=np.float32), (8.0 if y[0] else -8.0)
    model = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _design(dense: Array, sparse_part: Any) -> Any:
    from scipy import sparse

    return sparse.hstack([sparse.csr_matrix(dense.astype(np.float64)), sparse_part]).tocsr()


class _Fitted:
    """Both heads fitted on some training replies, for one regularisation strength."""

    def __init__(self, data: TrainingData, vocab: Vocabulary, c: float) -> None:
        self.vocab = vocab
        self.c = c
        clause_x, clause_y, owner = self._clause_rows(data)
        n_dense = clause_x[0].shape[1]
        x = _design(
            np.concatenate(clause_x),
            _sparse(vocab, [t for a in data.analyses for t in a.clause_terms]),
        )
        y = np.concatenate(clause_y)
        self.clause_w = np.zeros((len(CODES), x.shape[1]), dtype=np.float32)
        self.clause_b = np.zeros(len(CODES), dtype=np.float32)
        for k in range(len(CODES)):
            self.clause_w[k], self.clause_b[k] = _fit(x, y[:, k], c)
        # the reply head learns from clause scores it could not have fitted: out-of-fold ones
        groups = np.unique(data.groups)
        fold_of = {g: i % FOLDS for i, g in enumerate(groups)}
        row_fold = np.array([fold_of[data.groups[r]] for r in owner])
        oof = np.zeros((len(y), len(CODES)), dtype=np.float32)
        for f in range(FOLDS):
            inside, out = row_fold != f, row_fold == f
            if not out.any() or not inside.any():
                continue
            for k in range(len(CODES)):
                w, b = _fit(x[inside], y[inside, k], c)
                oof[out, k] = _sigmoid(x[out] @ w + b)
        best = np.zeros((len(data.analyses), len(CODES)), dtype=np.float32)
        np.maximum.at(best, owner, oof)
        rx = self._reply_design(data, best)
        self.reply_w = np.zeros((len(CODES), rx.shape[1]), dtype=np.float32)
        self.reply_b = np.zeros(len(CODES), dtype=np.float32)
        for k in range(len(CODES)):
            self.reply_w[k], self.reply_b[k] = _fit(rx, data.labels[:, k], c)
        self.n_clause_dense = n_dense
        self.n_reply_dense = data.analyses[0].reply_dense.shape[0] + len(CODES)

    @staticmethod
    def _clause_rows(
        data: TrainingData,
    ) -> tuple[list[Array], list[npt.NDArray[np.int8]], npt.NDArray[np.int64]]:
        xs, ys, owner = [], [], []
        for i, (a, r) in enumerate(zip(data.analyses, data.replies, strict=True)):
            xs.append(a.clause_dense)
            ys.append(clause_labels(a, r))
            owner.extend([i] * len(a.clauses))
        return xs, ys, np.array(owner, dtype=np.int64)

    def _reply_design(self, data: TrainingData, best: Array) -> Any:
        dense = np.stack(
            [np.concatenate([a.reply_dense, b]) for a, b in zip(data.analyses, best, strict=True)]
        )
        return _design(dense, _sparse(self.vocab, [a.reply_terms for a in data.analyses]))

    def heads(self, thresholds: Array, meta: dict[str, Any]) -> Heads:
        n, m = self.n_clause_dense, self.n_reply_dense
        return Heads(
            vocabulary=self.vocab,
            clause_dense=self.clause_w[:, :n],
            clause_sparse=self.clause_w[:, n:],
            clause_bias=self.clause_b,
            reply_dense=self.reply_w[:, :m],
            reply_sparse=self.reply_w[:, m:],
            reply_bias=self.reply_b,
            thresholds=thresholds,
            meta=meta,
        )


def _f1(y: npt.NDArray[Any], pred: npt.NDArray[Any]) -> float:
    tp = float((y & pred).sum())
    denom = float(y.sum() + pred.sum())
    return 2 * tp / denom if denom else 1.0


def choose_thresholds(y: npt.NDArray[np.int8], p: Array) -> tuple[float, float, float]:
    """(lower, cut, upper) for one code on development replies: the cut maximises F1; above
    ``upper`` precision reaches PRECISION_SURE, and ``lower`` keeps recall at RECALL_SURE;
    between them the coder says it is unsure (at most MAX_BAND either side of the cut)."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    yb = y.astype(bool)
    if not yb.any():
        return 0.5, 0.5, 0.5
    scores = [_f1(yb, p >= g) for g in grid]
    cut = float(grid[int(np.argmax(scores))])
    upper = cut
    for g in grid[grid >= cut]:
        chosen = p >= g
        if not chosen.any() or yb[chosen].mean() >= PRECISION_SURE:
            upper = float(g)
            break
    else:
        upper = cut + MAX_BAND
    lower = cut
    for g in grid[grid <= cut][::-1]:
        if (p[yb] >= g).mean() >= RECALL_SURE:
            lower = float(g)
            break
    else:
        lower = cut - MAX_BAND
    upper = min(upper, cut + MAX_BAND, 0.97)
    lower = max(lower, cut - MAX_BAND, 0.03)
    return lower, cut, upper


def predict(heads: Heads, data: TrainingData) -> Array:
    """(replies, codes) reply probabilities through the saved-heads code path."""
    out = []
    for a in data.analyses:
        out.append(heads.reply_scores(a, heads.clause_scores(a)))
    return np.stack(out)


def train(
    corpus_dirs: Sequence[Path] | None = None,
    splits_path: Path | None = None,
    out: Path = HEADS_PATH,
    log: Any = print,
) -> Heads:
    """Fit the heads on the train statements, choose C and thresholds on dev, write ``out``."""
    import scipy.sparse  # noqa: F401 - loaded before the limit below, so that it covers their BLAS
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    corpus: Corpus = load_corpus(corpus_dirs)
    splits = load_splits(splits_path or default_splits_path(), corpus)
    by_split = {
        name: [s for s in corpus.statements if splits[s.id] == name] for name in ("train", "dev")
    }
    encoder = load_encoder()
    with threadpool_limits(limits=1):  # deterministic sums, and no spinning threads
        train_data = encode_corpus(by_split["train"], encoder, sloppy=True)
        dev_data = encode_corpus(by_split["dev"], encoder)
        log(
            f"encoded {len(train_data.replies)} train and {len(dev_data.replies)} dev replies "
            f"in {time.perf_counter() - started:.0f} s"
        )
        vocab = Vocabulary.fit((a.reply_terms for a in train_data.analyses), MIN_DF)
        best: tuple[float, _Fitted, Array] | None = None
        for c in C_GRID:
            fitted = _Fitted(train_data, vocab, c)
            probe = fitted.heads(np.full((len(CODES), 3), 0.5, dtype=np.float32), {})
            p = predict(probe, dev_data)
            macro = float(
                np.mean(
                    [
                        max(
                            _f1(dev_data.labels[:, k].astype(bool), p[:, k] >= g)
                            for g in (0.2, 0.3, 0.4, 0.5)
                        )
                        for k in range(len(CODES))
                    ]
                )
            )
            log(f"C={c}: dev macro-F1 {macro:.3f}")
            if best is None or macro > best[0] + 1e-9:
                best = (macro, fitted, p)
        assert best is not None
        _, fitted, p = best
        thresholds = np.array(
            [choose_thresholds(dev_data.labels[:, k], p[:, k]) for k in range(len(CODES))],
            dtype=np.float32,
        )
    meta = {
        "corpus_digest": corpus.digest,
        "weights_crc": encoder.weights_crc,
        "C": fitted.c,
        "train_statements": len(by_split["train"]),
        "train_replies": len(train_data.replies),
        "dev_statements": len(by_split["dev"]),
        "dev_replies": len(dev_data.replies),
        "dev_f1_at_cut": {
            code: round(_f1(dev_data.labels[:, k].astype(bool), p[:, k] >= thresholds[k, 1]), 4)
            for k, code in enumerate(CODES)
        },
    }
    heads = fitted.heads(thresholds, meta)
    heads.save(out)
    log(
        f"wrote {out} in {time.perf_counter() - started:.0f} s; dev F1 at cut: {meta['dev_f1_at_cut']}"
    )
    return heads


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m courseware.feedback.train``: ``courseware feedback train`` itself (its options,
    and a bad corpus as one message, not a traceback)."""
    import sys

    from ..cli import main as courseware

    return courseware(["feedback", "train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
