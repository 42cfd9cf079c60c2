"""How well and how fast the reply coder codes replies to statements it has never seen.

Everything is measured on the held-out TEST statements of corpus/splits.yaml (the heads were fitted
on train and their thresholds chosen on dev), with the shipped heads and the installed model:

* ``f1_<code>``: F1 of each code. A code counts as given when the coder gives it outright; an
  unsure ("perhaps") code counts as not given, as it is never counted for the learner either.
* ``macro_f1``: mean of the ten, with a bootstrap 95% CI resampling statements (replies to one
  statement are not independent). ``macro_f1_best_guess`` resolves unsure codes at the dev cut.
* ``provides_space_accuracy``: yes/no against the derived label; an unsure answer (None) counts as
  wrong; ``provides_space_unsure`` is how often it is None.
* ``evidence_hit``: of the codes given correctly, how often the evidence shown overlaps the words
  the corpus marks for that code.
* ``perturbed_*``: the same on a copy of the test replies with typos, lower case, no punctuation
  and US spelling all applied (seeded), and the drop from the clean copy; one line per kind too.
* ``warm_ms_p50/p95``: one reply at a time through ``Coder.code`` (the statement's vector cached,
  as a server would have it); ``cold_load_s``: a fresh interpreter importing the package, loading
  the coder and coding one reply; ``hosting_rss_mb``: that process's resident memory after coding
  50 replies (and what the coder added to it).
* ``baseline_*``: word 1-2-gram TF-IDF + logistic regression per code (scikit-learn), fitted on the
  same train statements with its cut per code chosen on dev: what the sentence encoder adds.

    .venv/bin/python benchmarks/reply_coder.py [--corpus DIR ...] [--boot N]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from courseware.feedback import CODES, load_coder, provides_space  # noqa: E402
from courseware.feedback._corpus import (  # noqa: E402
    Statement,
    default_corpus_dirs,
    load_corpus,
    load_splits,
)

US_SPELLING = {
    "mum": "mom",
    "mummy": "mommy",
    "colour": "color",
    "behaviour": "behavior",
    "favour": "favor",
    "honour": "honor",
    "realise": "realize",
    "realised": "realized",
    "recognise": "recognize",
    "apologise": "apologize",
    "organise": "organize",
    "organised": "organized",
    "prioritise": "prioritize",
    "centre": "center",
    "programme": "program",
    "paediatric": "pediatric",
    "paediatrics": "pediatrics",
    "anaesthetic": "anesthetic",
    "oesophagus": "esophagus",
    "haemorrhage": "hemorrhage",
    "tumour": "tumor",
    "labour": "labor",
    "grey": "gray",
    "practise": "practice",
    "learnt": "learned",
    "whilst": "while",
    "travelled": "traveled",
    "cancelled": "canceled",
    "fulfil": "fulfill",
    "judgement": "judgment",
    "sceptical": "skeptical",
    "worrying": "worrying",
    "nappy": "diaper",
    "a&e": "the er",
    "gp": "doctor",
}
KINDS = ("typos", "lower", "nopunct", "us")


def perturb(text: str, kinds: Sequence[str], rng: random.Random) -> str:
    """A learner's sloppier or American version of ``text``."""
    if "us" in kinds:
        text = re.sub(
            r"[A-Za-z&]+",
            lambda m: US_SPELLING.get(m.group(0).lower(), m.group(0)),
            text,
        )
        text = re.sub(r"(\w{3,})is(e|ed|es|ing)\b", r"\1iz\2", text)
    if "typos" in kinds:
        words = text.split(" ")
        for i, w in enumerate(words):
            if len(w) > 3 and rng.random() < 0.15:
                j = rng.randrange(1, len(w) - 1)
                op = rng.choice(("swap", "drop", "double"))
                if op == "swap":
                    w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
                elif op == "drop":
                    w = w[:j] + w[j + 1 :]
                else:
                    w = w[:j] + w[j] + w[j:]
                words[i] = w
        text = " ".join(words)
    if "lower" in kinds:
        text = text.lower()
    if "nopunct" in kinds:
        text = re.sub(r"[^\w\s]", "", text)
        text = re.sub(r"\s+", " ", text).strip() or "ok"
    return text


def f1(gold: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> float:
    tp = float((gold & pred).sum())
    denom = float(gold.sum() + pred.sum())
    return 2 * tp / denom if denom else 1.0


def macro(gold: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> float:
    return float(np.mean([f1(gold[:, k], pred[:, k]) for k in range(len(CODES))]))


def bootstrap_ci(
    gold: np.ndarray[Any, Any], pred: np.ndarray[Any, Any], groups: np.ndarray[Any, Any], n: int
) -> tuple[float, float]:
    """95% percentile interval of macro-F1, resampling whole statements."""
    rng = np.random.default_rng(12)
    ids = np.unique(groups)
    rows = {g: np.flatnonzero(groups == g) for g in ids}
    values = []
    for _ in range(n):
        pick = np.concatenate([rows[g] for g in rng.choice(ids, size=len(ids))])
        values.append(macro(gold[pick], pred[pick]))
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def space_of(pred: np.ndarray[Any, Any]) -> list[bool]:
    return [provides_space(c for c, v in zip(CODES, row, strict=True) if v) for row in pred]


def run_coder(
    coder: Any, pairs: Sequence[tuple[str, str]]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[bool | None], list[Any]]:
    """(given, best guess, provides_space, codings) for every pair."""
    given = np.zeros((len(pairs), len(CODES)), dtype=bool)
    guess = np.zeros_like(given)
    spaces: list[bool | None] = []
    codings = []
    cuts = coder.heads.thresholds[:, 1]
    for first in range(0, len(pairs), 32):
        chunk = pairs[first : first + 32]
        for i, (analysis, clause, reply) in enumerate(coder.scores(chunk), start=first):
            coding = coder._coding(analysis, clause, reply)
            codings.append(coding)
            for name in coding.names():
                given[i, CODES.index(name)] = True
            guess[i] = reply >= cuts
            spaces.append(coding.provides_space)
    return given, guess, spaces, codings


def evidence_hit(codings: Sequence[Any], statements: Sequence[Statement]) -> float:
    replies = [r for s in statements for r in s.replies]
    hits = total = 0
    for coding, reply in zip(codings, replies, strict=True):
        for result in coding.codes:
            if result.code not in reply.codes:
                continue
            total += 1
            spans = reply.spans(result.code)
            if any(e.start < b and a < e.end for e in result.evidence for a, b in spans):
                hits += 1
    return hits / total if total else float("nan")


class Baseline:
    """Word 1-2-gram TF-IDF + one logistic regression per code; cut per code chosen on dev."""

    def __init__(self, train: Sequence[Statement], dev: Sequence[Statement]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts, gold = texts_and_gold(train)
        self.vectoriser = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        x = self.vectoriser.fit_transform(texts)
        self.models = []
        for k in range(len(CODES)):
            model = LogisticRegression(C=8.0, max_iter=2000)
            model.fit(x, gold[:, k])
            self.models.append(model)
        dev_texts, dev_gold = texts_and_gold(dev)
        p = self.proba(dev_texts)
        grid = np.arange(0.05, 0.95, 0.01)
        self.cuts = np.array(
            [
                grid[int(np.argmax([f1(dev_gold[:, k], p[:, k] >= g) for g in grid]))]
                for k in range(len(CODES))
            ]
        )

    def proba(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        x = self.vectoriser.transform(texts)
        return np.stack([m.predict_proba(x)[:, 1] for m in self.models], axis=1)

    def predict(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        return self.proba(texts) >= self.cuts


def texts_and_gold(statements: Sequence[Statement]) -> tuple[list[str], np.ndarray[Any, Any]]:
    replies = [r for s in statements for r in s.replies]
    gold = np.array([[c in r.codes for c in CODES] for r in replies], dtype=bool)
    return [r.text for r in replies], gold.reshape(-1, len(CODES))


COLD = r"""
import os, time
t = time.perf_counter()
from courseware.feedback import load_coder
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
before = rss()
coder = load_coder()
coder.code("My chest hurts and I'm scared.", "That sounds frightening. What worries you most?")
print(time.perf_counter() - t)
import sys
pairs = [tuple(line.split("\t", 1)) for line in sys.stdin.read().splitlines()[:50]]
for s, r in pairs:
    coder.code(s, r)
print(rss(), before)
"""


def cold(pairs: Sequence[tuple[str, str]]) -> tuple[float, int, int]:
    feed = "\n".join(f"{s}\t{r}".replace("\n", " ") for s, r in pairs[:50])
    out = subprocess.run(
        [sys.executable, "-c", COLD],
        input=feed,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    lines = out.stdout.split()
    return float(lines[0]), int(lines[1]), int(lines[2])


def report(
    prefix: str,
    gold: np.ndarray[Any, Any],
    pred: np.ndarray[Any, Any],
    groups: np.ndarray[Any, Any],
    boot: int,
    per_code: bool,
) -> float:
    value = macro(gold, pred)
    if per_code:
        for k, code in enumerate(CODES):
            print(
                f"{prefix}f1_{code}: {f1(gold[:, k], pred[:, k]):.3f} (support {int(gold[:, k].sum())})"
            )
    lo, hi = bootstrap_ci(gold, pred, groups, boot)
    print(f"{prefix}macro_f1: {value:.3f} (95% CI {lo:.3f}-{hi:.3f}; goal >= 0.80)")
    return value


def space_accuracy(gold: Sequence[bool], got: Sequence[bool | None]) -> float:
    return sum(g == s for g, s in zip(gold, got, strict=True)) / len(gold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", help="corpus folder(s)")
    parser.add_argument("--splits", type=Path, help="default corpus/splits.yaml")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args()
    dirs = args.corpus or default_corpus_dirs()
    corpus = load_corpus(dirs)
    splits = load_splits(args.splits or dirs[0].parent / "splits.yaml", corpus)
    part = {
        n: [s for s in corpus.statements if splits[s.id] == n] for n in ("train", "dev", "test")
    }
    test = part["test"]
    coder = load_coder()
    if coder.heads.meta.get("corpus_digest") != corpus.digest:
        print(
            "warning: the shipped heads were trained on another corpus (courseware feedback train)"
        )
    texts, gold = texts_and_gold(test)
    pairs = [(s.statement, r.text) for s in test for r in s.replies]
    groups = np.array([i for i, s in enumerate(test) for _ in s.replies])
    gold_space = space_of(gold)
    print(
        f"test_set: {len(test)} statements, {len(pairs)} replies "
        f"(train {len(part['train'])}, dev {len(part['dev'])} statements; {coder.version})"
    )

    given, guess, spaces, codings = run_coder(coder, pairs)
    clean = report("", gold, given, groups, args.boot, per_code=True)
    report("best_guess_", gold, guess, groups, args.boot, per_code=False)
    unsure = sum(len(c.unsure) for c in codings)
    print(f"unsure_codes: {unsure / len(codings):.3f} per reply")
    space_acc = space_accuracy(gold_space, spaces)
    print(f"provides_space_accuracy: {space_acc:.3f} (goal >= 0.90)")
    print(f"provides_space_unsure: {sum(s is None for s in spaces) / len(spaces):.3f} of replies")
    print(f"evidence_hit: {evidence_hit(codings, test):.3f} of correct codes")

    rng = random.Random(7)
    perturbed = [(s, perturb(r, KINDS, rng)) for s, r in pairs]
    p_given, _, p_spaces, _ = run_coder(coder, perturbed)
    p_macro = report("perturbed_", gold, p_given, groups, args.boot, per_code=False)
    print(f"perturbed_macro_f1_drop: {clean - p_macro:.3f} (goal <= 0.05)")
    p_space = space_accuracy(gold_space, p_spaces)
    print(
        f"perturbed_provides_space_accuracy: {p_space:.3f} (drop {space_acc - p_space:.3f}; goal <= 0.05)"
    )
    for kind in KINDS:
        rng = random.Random(7)
        k_given, _, _, _ = run_coder(coder, [(s, perturb(r, (kind,), rng)) for s, r in pairs])
        print(f"perturbed_{kind}_macro_f1: {macro(gold, k_given):.3f}")

    times = []
    for s, r in pairs:
        t = time.perf_counter()
        coder.code(s, r)
        times.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(times, n=20)
    print(f"warm_ms_p50: {statistics.median(times):.1f} ms per reply")
    print(f"warm_ms_p95: {q[18]:.1f} ms per reply (goal <= 150 ms)")
    cold_s, rss, before = cold(pairs)
    print(f"cold_load_s: {cold_s:.2f} s (goal <= 5 s; import, load, first reply, fresh process)")
    print(f"hosting_rss_mb: {rss / 2**20:.0f} MB (the coder added {(rss - before) / 2**20:.0f} MB)")

    started = time.perf_counter()
    baseline = Baseline(part["train"], part["dev"])
    b_pred = baseline.predict(texts)
    b_clean = report("baseline_", gold, b_pred, groups, args.boot, per_code=True)
    print(f"baseline_provides_space_accuracy: {space_accuracy(gold_space, space_of(b_pred)):.3f}")
    b_pert = baseline.predict([r for _, r in perturbed])
    print(
        f"baseline_perturbed_macro_f1: {macro(gold, b_pert):.3f} (drop {b_clean - macro(gold, b_pert):.3f})"
    )
    print(
        f"baseline_perturbed_provides_space_accuracy: {space_accuracy(gold_space, space_of(b_pert)):.3f}"
    )
    print(f"baseline_fit_s: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
