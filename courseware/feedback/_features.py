"""What the reply coder looks at, shared by training and coding so the two can never drift apart.

* **Clauses**: a reply is cut at sentence and clause boundaries (. ? ! ; : , dashes, new lines, and
  before "but", "so", "because"...). A code's evidence is the clause (or run of clauses) that scores
  highest for it.
* **Words**: lower-cased word unigrams and bigrams with apostrophes dropped ("don't" and the typed
  "dont" are one word), and character 3-5-grams inside words, which survive typos and US spelling.
  Each kind is a binary bag weighted by inverse document frequency and L2-normalised.
* **Meaning**: the encoder's vectors (see ``_encoder``): the whole reply, each clause in context,
  and their cosine with the patient's statement (a reply that ignores what was said often switches).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ..content import words as count_words

__all__ = [
    "Vocabulary",
    "clause_spans",
    "evidence_span",
    "surface",
    "terms",
]

_CONJ = r"but|because|cos|cause|although|though|whereas|unless|anyway|otherwise"
_CLAUSE_START = r"i|i'm|im|i'll|ill|i've|ive|i'd|we|we'll|we're|you|you're|youre|you'll|it|it's|its|that|that's|thats|there|this|let's|lets|what|how|don't|dont|please|maybe|then|if|when|she|he|they"
_BOUNDARY = re.compile(
    rf"""
      (?<=[.!?;:\u2026])["'\u2019\u201d)\]]*\s+       # after sentence punctuation
    | (?<=,)\s+                                        # after a comma
    | \s+(?=(?:{_CONJ})\b)                             # before a conjunction
    | \s+(?=(?:and|so|while)\s+(?:{_CLAUSE_START})\b)   # before "and"/"so" opening a clause
    | \s*\n+\s*                                        # line breaks
    | \s+[-\u2013\u2014]+\s+                           # dashes between spaces
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LEADING = re.compile(rf"(?:(?:{_CONJ}|and|so|while|also|then|well|oh)\b[\s,]*)+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*", re.UNICODE)
_APOSTROPHES = str.maketrans({"'": "", "\u2019": ""})
QUESTION_START = re.compile(
    r"^\W*(?:what|how|why|when|where|who|which|can|could|would|will|do|does|did|is|are|was|were|have|has|tell|shall)\b",
    re.IGNORECASE,
)


_UNPUNCTUATED_BOUNDARY = re.compile(
    rf"""\s+(?=(?:what|how|why|tell\s+me|can\s+i|could\s+you|do\s+you|are\s+you|is\s+there|
    dont\s+worry|don't\s+worry|anyway|at\s+least|you\s+should|i\s+know|i\s+can|i\s+will|
    i'll|i'm|we'll|lets|let's|{_CONJ})\b)""",
    re.IGNORECASE | re.VERBOSE,
)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each clause, whitespace trimmed, in order; at least one span for any
    text with a visible character. Text typed without any punctuation is also cut before words
    that usually open a clause ("what", "don't worry", "I know"...), so it gets clauses too."""
    spans = []
    start = 0
    boundary = _BOUNDARY
    if not any(ch in text for ch in ".?!;:,\n\u2026") and count_words(text) > 8:
        boundary = re.compile(
            f"{_BOUNDARY.pattern}|{_UNPUNCTUATED_BOUNDARY.pattern}", _BOUNDARY.flags
        )
    for match in boundary.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out or [(0, len(text))]


def evidence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """A clause run as shown to the learner: without a leading "but"/"and so" and without the
    trailing comma or semicolon that joined it to the next clause (a question mark stays)."""
    leading = _LEADING.match(text, start, end)
    if leading and leading.end() < end:
        start = leading.end()
    while end > start and (text[end - 1] in ",;:-\u2013\u2014" or text[end - 1].isspace()):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


def words(text: str) -> list[str]:
    return [w.translate(_APOSTROPHES) for w in _WORD.findall(text.lower())]


def terms(text: str) -> set[str]:
    """The reply's word 1-2-grams (``w:``) and in-word character 3-5-grams (``c:``)."""
    tokens = words(text)
    out = {f"w:{t}" for t in tokens}
    out.update(f"w:{a} {b}" for a, b in itertools.pairwise(tokens))
    for t in tokens:
        padded = f" {t} "
        for n in (3, 4, 5):
            out.update(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
    return out


def surface(text: str) -> list[float]:
    """A few shape features: asks a question, opens with a question word, clause count, length."""
    clauses = clause_spans(text)
    return [
        1.0 if "?" in text else 0.0,
        1.0 if any(QUESTION_START.match(text, a, b) for a, b in clauses) else 0.0,
        min(len(clauses), 10) / 5.0,
        math.log1p(len(words(text))) / 4.0,
    ]


class Vocabulary:
    """Term -> column, with inverse document frequencies, fitted on training texts only."""

    def __init__(self, terms: Sequence[str], idf: npt.NDArray[np.float32]) -> None:
        self.terms = list(terms)
        self.index = {t: i for i, t in enumerate(self.terms)}
        self.idf = idf.astype(np.float32)

    @classmethod
    def fit(cls, docs: Iterable[set[str]], min_df: Mapping[str, int]) -> Vocabulary:
        """Keep a term seen in at least ``min_df[kind]`` documents (kind: ``w`` or ``c``)."""
        df: Counter[str] = Counter()
        n = 0
        for doc in docs:
            df.update(doc)
            n += 1
        kept = sorted(t for t, k in df.items() if k >= min_df[t[0]])
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in kept], dtype=np.float32)
        return cls(kept, idf)

    def sparse(self, doc: set[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Columns and values of one document: idf-weighted presence, L2-normalised per kind."""
        cols = np.array(sorted(self.index[t] for t in doc if t in self.index), dtype=np.int64)
        if not len(cols):
            return cols, np.zeros(0, dtype=np.float32)
        values = self.idf[cols].copy()
        kinds = np.array([self.terms[c][0] == "w" for c in cols])
        for part in (kinds, ~kinds):
            norm = float(np.linalg.norm(values[part]))
            if norm > 0:
                values[part] /= norm
        return cols, values
