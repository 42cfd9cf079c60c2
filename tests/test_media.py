"""Media in a case: a picture with alt text, a recording with its transcript, stage directions
apart from speech, a timed pause; all embedded (no network), all checked with FILE:LINE:field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from courseware.content import ContentError, check_vignette
from courseware.store import SQLiteStore
from courseware.widgets import open_module

from conftest import FIXTURES

MEDIA = FIXTURES / "modules" / "media"


def copy(tmp_path: Path) -> Path:
    target = tmp_path / "media"
    shutil.copytree(MEDIA, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def problems(module: Path, old: str, new: str) -> list[tuple[int, str, str]]:
    case = module / "vignettes" / "phone-call.yaml"
    text = case.read_text(encoding="utf-8")
    assert old in text
    case.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ContentError) as info:
        check_vignette(case)  # as `courseware check` does (a learner's load skips the lint)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_missing_alt_text_is_an_error_at_its_line(tmp_path: Path) -> None:
    found = problems(copy(tmp_path), '      alt: "A desk telephone with its handset lifted."\n', "")
    assert (9, "nodes.ring.image.alt", "required field is missing") in found


def test_missing_transcript_is_an_error_at_its_line(tmp_path: Path) -> None:
    found = problems(
        copy(tmp_path), '      transcript: "Son: It\'s about my mum. The home rang me."\n', ""
    )
    assert (13, "nodes.ring.audio.transcript", "required field is missing") in found


def test_a_media_file_not_found_or_outside_the_module_is_an_error(tmp_path: Path) -> None:
    found = problems(copy(tmp_path), "file: media/line.wav", "file: media/lost.wav")
    assert found[0][:2] == (14, "nodes.ring.audio.file") and "file not found" in found[0][2]
    found = problems(copy(tmp_path / "2"), "file: media/phone.png", "file: ../../secret.png")
    assert found[0][:2] == (10, "nodes.ring.image.file") and "outside the module" in found[0][2]
    found = problems(copy(tmp_path / "3"), "file: media/phone.png", "file: media/line.wav")
    assert found[0][:2] == (10, "nodes.ring.image.file") and ".png" in found[0][2]


def test_the_view_embeds_media_sets_stage_directions_apart_and_pauses(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "store.db") as store:
        view = open_module(MEDIA, store=store, learner="ana").vignette("phone-call")
        scene = view.scene.value
        assert "src='data:image/png;base64," in scene
        assert "alt='A desk telephone with its handset lifted.'" in scene
        assert "src='data:audio/wav;base64," in scene and "http" not in scene
        assert "Transcript" in scene and "Son: It\u2019s about my mum" in scene
        # Stage directions: apart from the speech, announced as such.
        assert scene.count("class='cw-stage'") == 2 and "Stage direction: </span>" in scene
        assert scene.index("The line crackles.") < scene.index("about my mum. The home")
        # The pause holds the choices back (announced, with a skip button) until skipped.
        assert view.choices.children == () and "Silence on the line." in view.pause.value
        assert "role='status'" in view.pause.value and view.skip_pause.layout.display is None
        assert view.choose(0, at="ring") is None  # a forged click during the pause is refused
        view.skip_pause.click()
        assert len(view.choices.children) == 2 and view.pause.value == ""
        assert view.skip_pause.layout.display == "none"
        assert view.choose(0, at="ring") is not None and view.walk.finished
