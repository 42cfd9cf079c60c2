"""The reply coder: the packaged encoder plus small trained heads (``heads.npz``) that turn its
vectors and the reply's words into ten code probabilities, evidence clauses and an unsure zone.

Two logistic-regression heads per code, trained by ``courseware feedback train``:

* the **clause head** scores each clause of the reply (its vector in context, its words, its
  likeness to the statement); the best-scoring clauses are the code's evidence;
* the **reply head** decides whether the code is present, from the whole reply's vector and words
  and the clause head's best score for every code.

A code is given when its probability reaches the upper threshold, left out below the lower one and
reported as *unsure* in between; both thresholds were chosen on the development statements.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import threading
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..content import CODES, CodeResult, CoderUnavailable, Coding, Evidence, provides_space
from ._encoder import MODEL_NAME, Encoder, TokenStates, load_encoder
from ._features import Vocabulary, clause_spans, evidence_span, surface, terms

__all__ = [
    "HEADS_PATH",
    "MAX_CHARS",
    "Analysis",
    "Coder",
    "Heads",
    "code",
    "load_coder",
    "shared_coder",
]

HEADS_PATH = Path(__file__).with_name("heads.npz")
HEADS_FORMAT = 1
MAX_CHARS = 50_000
SEGMENT_CHARS = 600  # a longer reply is encoded in pieces cut at clause boundaries (256 tokens max)
MAX_EVIDENCE = 3
Array = npt.NDArray[np.float32]


def _sigmoid(x: Array) -> Array:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))).astype(np.float32)


@dataclass
class Analysis:
    """One reply as the heads see it (also what training fits on)."""

    text: str
    clauses: list[tuple[int, int]]
    clause_dense: Array  # (clauses, features)
    clause_terms: list[set[str]]
    reply_dense: Array  # (features,) without the clause scores, added by the heads
    reply_terms: set[str]


def _segments(text: str) -> list[tuple[int, int]]:
    """Runs of whole clauses of at most SEGMENT_CHARS characters (a longer clause stands alone)."""
    out: list[tuple[int, int]] = []
    for a, b in clause_spans(text):
        if out and b - out[-1][0] <= SEGMENT_CHARS:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def analyse(encoder: Encoder, pairs: Sequence[tuple[Array, str]]) -> list[Analysis]:
    """Encode every reply (one batch for all of them) and build the heads' features.

    ``pairs`` holds each reply with its statement's sentence vector.
    """
    pieces: list[tuple[int, int, int]] = []  # (reply index, start, end)
    for i, (_, text) in enumerate(pairs):
        pieces.extend((i, a, b) for a, b in _segments(text))
    states = encoder.token_states([pairs[i][1][a:b] for i, a, b in pieces])
    joined: dict[int, tuple[list[Array], list[tuple[int, int]]]] = {}
    for (i, a, _), piece in zip(pieces, states, strict=True):
        vectors, offsets = joined.setdefault(i, ([], []))
        vectors.append(piece.vectors)
        offsets.extend((a + s, a + e) for s, e in piece.offsets)
    out = []
    for i, (statement_vec, text) in enumerate(pairs):
        vectors, offsets = joined[i]
        whole = TokenStates(np.concatenate(vectors), tuple(offsets))
        reply_vec = whole.mean()
        clauses = clause_spans(text)
        clause_vecs = np.stack([whole.mean(a, b) for a, b in clauses])
        to_statement = clause_vecs @ statement_vec
        to_reply = clause_vecs @ reply_vec
        n = len(clauses)
        clause_dense = np.concatenate(
            [
                clause_vecs,
                np.array(
                    [
                        [
                            to_statement[j],
                            to_reply[j],
                            1.0 if j == 0 else 0.0,
                            1.0 if j == n - 1 else 0.0,
                            *surface(text[a:b]),
                        ]
                        for j, (a, b) in enumerate(clauses)
                    ],
                    dtype=np.float32,
                ),
            ],
            axis=1,
        ).astype(np.float32)
        reply_dense = np.concatenate(
            [
                reply_vec,
                np.array(
                    [
                        float(reply_vec @ statement_vec),
                        float(to_statement.max()),
                        *surface(text),
                    ],
                    dtype=np.float32,
                ),
            ]
        ).astype(np.float32)
        out.append(
            Analysis(
                text=text,
                clauses=clauses,
                clause_dense=clause_dense,
                clause_terms=[terms(text[a:b]) for a, b in clauses],
                reply_dense=reply_dense,
                reply_terms=terms(text),
            )
        )
    return out


@dataclass
class Heads:
    """The trained part: per-code weights of both heads, the vocabulary and the thresholds."""

    vocabulary: Vocabulary
    clause_dense: Array  # (codes, clause dense features)
    clause_sparse: Array  # (codes, vocabulary)
    clause_bias: Array  # (codes,)
    reply_dense: Array  # (codes, reply dense features + codes)
    reply_sparse: Array
    reply_bias: Array
    thresholds: Array  # (codes, 3): lower, best single cut, upper
    meta: dict[str, Any]
    digest: str = ""

    def clause_scores(self, a: Analysis) -> Array:
        """(clauses, codes) probability that each clause carries each code."""
        logits = a.clause_dense @ self.clause_dense.T + self.clause_bias
        for j, doc in enumerate(a.clause_terms):
            cols, values = self.vocabulary.sparse(doc)
            logits[j] += self.clause_sparse[:, cols] @ values
        return _sigmoid(logits)

    def reply_scores(self, a: Analysis, clause: Array) -> Array:
        """(codes,) probability that the reply carries each code."""
        dense = np.concatenate([a.reply_dense, clause.max(axis=0)])
        cols, values = self.vocabulary.sparse(a.reply_terms)
        logits = self.reply_dense @ dense + self.reply_sparse[:, cols] @ values + self.reply_bias
        return _sigmoid(logits)

    def save(self, path: Path) -> None:
        """A byte-for-byte reproducible .npz (fixed member order and timestamps)."""
        arrays = {
            "clause_dense": self.clause_dense,
            "clause_sparse": self.clause_sparse,
            "clause_bias": self.clause_bias,
            "reply_dense": self.reply_dense,
            "reply_sparse": self.reply_sparse,
            "reply_bias": self.reply_bias,
            "thresholds": self.thresholds,
            "idf": self.vocabulary.idf,
        }
        meta = dict(self.meta, format=HEADS_FORMAT, codes=list(CODES))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                member = io.BytesIO()
                np.lib.format.write_array(member, np.ascontiguousarray(array, dtype=np.float32))
                archive.writestr(
                    zipfile.ZipInfo(f"{name}.npy", (1980, 1, 1, 0, 0, 0)),
                    member.getvalue(),
                    zipfile.ZIP_DEFLATED,
                )
            text = json.dumps({"meta": meta, "terms": self.vocabulary.terms}, sort_keys=True)
            archive.writestr(
                zipfile.ZipInfo("heads.json", (1980, 1, 1, 0, 0, 0)),
                text.encode(),
                zipfile.ZIP_DEFLATED,
            )
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(buffer.getvalue())
        partial.replace(path)  # a coder loading meanwhile sees the old heads or the new, whole

    @classmethod
    def load(cls, path: Path) -> Heads:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CoderUnavailable(
                f"the reply coder's trained heads are missing ({path}: {exc.strerror}); "
                "train them: courseware feedback train"
            ) from None
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                info = json.loads(archive.read("heads.json"))
                arrays = {
                    n[:-4]: np.lib.format.read_array(io.BytesIO(archive.read(n)))
                    for n in archive.namelist()
                    if n.endswith(".npy")
                }
            meta = info["meta"]
            if meta.get("format") != HEADS_FORMAT or meta.get("codes") != list(CODES):
                raise ValueError("made by another version of the coder")
            return cls(
                vocabulary=Vocabulary(info["terms"], arrays.pop("idf")),
                meta=meta,
                digest=hashlib.sha256(data).hexdigest(),
                **arrays,
            )
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
            raise CoderUnavailable(
                f"{path} is not usable heads ({exc}); retrain: courseware feedback train"
            ) from None


def _validate(statement: object, reply: object) -> tuple[str, str]:
    for name, value in (("statement", statement), ("reply", reply)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be text, not {type(value).__name__}")
        if len(value) > MAX_CHARS:
            raise ValueError(f"{name} is longer than {MAX_CHARS:,} characters ({len(value):,})")
    assert isinstance(statement, str) and isinstance(reply, str)
    if not reply.strip() or not any(ch.isalnum() for ch in reply):
        raise ValueError("reply is empty: there are no words to code")
    return statement, reply


def _space(present: Iterable[str], unsure: Sequence[str]) -> bool | None:
    """provides_space, or None when some choice of the unsure codes would change it."""
    base = list(present)
    answers = {
        provides_space(base + list(extra))
        for n in range(len(unsure) + 1)
        for extra in itertools.combinations(unsure, n)
    }
    return answers.pop() if len(answers) == 1 else None


class Coder:
    """Codes replies to patients' statements. Thread-safe; load once per process (see
    :func:`load_coder`), then call :meth:`code` or :meth:`code_many` from any thread."""

    def __init__(self, encoder: Encoder, heads: Heads) -> None:
        self._encoder = encoder
        self._heads = heads
        self.version = f"{MODEL_NAME}+heads-{heads.digest[:12]}"
        self._statement_vec = lru_cache(maxsize=512)(self._embed_statement)

    @property
    def heads(self) -> Heads:
        return self._heads

    def _embed_statement(self, statement: str) -> Array:
        vector: Array = self._encoder.embed([statement or "."])[0]
        return vector

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[Analysis, Array, Array]]:
        """Per reply: its analysis, the clause scores (clauses, codes) and the reply scores."""
        checked = [_validate(s, r) for s, r in pairs]
        analyses = analyse(self._encoder, [(self._statement_vec(s), r) for s, r in checked])
        out = []
        for a in analyses:
            clause = self._heads.clause_scores(a)
            out.append((a, clause, self._heads.reply_scores(a, clause)))
        return out

    def _evidence(self, a: Analysis, clause: Array, k: int) -> tuple[Evidence, ...]:
        column = clause[:, k]
        best = int(column.argmax())
        chosen = sorted({best, *(int(j) for j in np.flatnonzero(column >= 0.5))})
        chosen = sorted(sorted(chosen, key=lambda j: -column[j])[:MAX_EVIDENCE])
        runs: list[list[int]] = []
        for j in chosen:
            if runs and runs[-1][-1] == j - 1:
                runs[-1].append(j)
            else:
                runs.append([j])
        out = []
        for run in runs:
            start, end = evidence_span(a.text, a.clauses[run[0]][0], a.clauses[run[-1]][1])
            out.append(Evidence(start, end, a.text[start:end]))
        return tuple(out)

    def _coding(self, a: Analysis, clause: Array, reply: Array) -> Coding:
        present: list[CodeResult] = []
        unsure: list[CodeResult] = []
        for k, code in enumerate(CODES):
            lower, _, upper = (float(v) for v in self._heads.thresholds[k])
            p = float(reply[k])
            if p < lower:
                continue
            result = CodeResult(code, p, self._evidence(a, clause, k))
            (present if p >= upper else unsure).append(result)
        space = _space((r.code for r in present), [r.code for r in unsure])
        return Coding(tuple(present), tuple(unsure), self.version, space)

    def code(self, statement: str, reply: str) -> Coding:
        """Code one reply. Raises ValueError for an empty reply or text over 50,000 characters."""
        return self.code_many([(statement, reply)])[0]

    def code_many(self, pairs: Sequence[tuple[str, str]]) -> list[Coding]:
        """Code several replies in one encoder batch (faster than one at a time)."""
        return [self._coding(*scored) for scored in self.scores(pairs)]

    def code_many_with_confidence(
        self, pairs: Sequence[tuple[str, str]]
    ) -> list[tuple[Coding, float]]:
        """Each coding with the coder's overall confidence in it (see :meth:`confidence`)."""
        return [
            (self._coding(a, clause, reply), self.confidence(reply))
            for a, clause, reply in self.scores(pairs)
        ]

    def confidence(self, reply_scores: Array) -> float:
        """How sure the coder is of its whole decision: the lowest confidence among the codes it
        decided on (present: p; absent: 1 - p); unsure codes are not decisions."""
        values = []
        for k in range(len(CODES)):
            lower, _, upper = (float(v) for v in self._heads.thresholds[k])
            p = float(reply_scores[k])
            if p >= upper:
                values.append(p)
            elif p < lower:
                values.append(1.0 - p)
        return min(values) if values else 0.0


def load_coder(*, model_dir: Path | None = None, heads: Path | None = None) -> Coder:
    """The coder, from the installed model package (or ``model_dir``: a folder with model.zip, or
    model.safetensors and tokenizer.json) and the shipped heads (or ``heads``).

    Raises :class:`CoderUnavailable` with what to install or retrain when either is missing."""
    trained = Heads.load(heads or HEADS_PATH)
    encoder = load_encoder(model_dir)
    expected = trained.meta.get("weights_crc")
    if expected is not None and expected != encoder.weights_crc:
        raise CoderUnavailable(
            f"the heads were trained on other {MODEL_NAME} weights (CRC {expected:08x}, "
            f"installed {encoder.weights_crc:08x}); retrain: courseware feedback train"
        )
    return Coder(encoder, trained)


_shared: Coder | None = None
_shared_lock = threading.Lock()


def shared_coder() -> Coder:
    """The process-wide coder, loaded once on first use (thread-safe)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = load_coder()
    return _shared


def code(statement: str, reply: str) -> Coding:
    """Code one reply with the process's shared coder (see :func:`shared_coder`)."""
    return shared_coder().code(statement, reply)
