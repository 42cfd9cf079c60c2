"""``courseware serve`` and ``courseware seminar`` as typed: defaults from the API, one way to name
the folder, Voila's arguments after ``--``, and errors as one message (a traceback with --debug)."""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

import pytest
from helpers import run_courseware

from courseware.apps import DEFAULT_PORT, build_seminar, run_seminar, serve
from courseware.cli import build_parser, main

from conftest import FIXTURES, VoilaServer, server_environ

DEMO = FIXTURES / "modules"
NOT_OPTIONS = {"extra_args", "store"}
"""API parameters with no command-line option: arguments after ``--``, and a store object."""


def api_defaults(*functions: object) -> dict[str, object]:
    found: dict[str, object] = {}
    for function in functions:
        for name, parameter in inspect.signature(function).parameters.items():  # type: ignore[arg-type]
            if parameter.default is not inspect.Parameter.empty:
                found.setdefault(name, parameter.default)
    return found


@pytest.mark.parametrize(
    ("words", "functions"),
    [(["serve"], (serve,)), (["seminar", "demo"], (run_seminar, build_seminar))],
)
def test_every_option_defaults_to_the_api_default(
    words: list[str], functions: tuple[object, ...]
) -> None:
    """Each keyword of the API function is an option whose default is the function's own, so
    the command line and the notebook API cannot drift apart."""
    parsed = vars(build_parser().parse_args(words))
    defaults = api_defaults(*functions)
    assert defaults["port"] == DEFAULT_PORT
    for name, default in defaults.items():
        if name in NOT_OPTIONS:
            continue
        assert name in parsed, f"{words[0]}: no option for the API's {name!r}"
        value = parsed[name]
        assert (list(value) if isinstance(value, list) else value) == (
            list(default) if isinstance(default, tuple) else default
        ), name


def test_serve_and_seminar_name_the_folder_the_same_way() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "--root", "x"]).root == Path("x")
    assert parser.parse_args(["seminar", "demo", "--root", "x"]).root == Path("x")
    assert parser.parse_args(["serve", "x"]).folder == Path(
        "x"
    )  # as README and the hub always had it


def test_the_folder_given_twice_differently_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(DEMO), "--root", str(DEMO / "demo")]) == 1
    assert "give the folder of modules once" in capsys.readouterr().err


def test_commands_without_voila_refuse_arguments_after_the_double_dash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", str(DEMO), "--", "--Voila.log_level=DEBUG"])
    assert exited.value.code == 2
    assert "check takes no arguments after --" in capsys.readouterr().err


def run_cli(*words: str) -> subprocess.CompletedProcess[str]:
    return run_courseware(*words, env=server_environ(), expect_ok=False)


def test_an_error_is_one_message_and_debug_shows_its_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "courseware.yaml"
    bad.write_text("serve:\n  max_kernels: none\n", encoding="utf-8")
    plain = run_cli("serve", "--root", str(DEMO), "--config", str(bad))
    assert plain.returncode == 1
    assert "courseware.yaml:2: serve.max_kernels:" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = run_cli("--debug", "serve", "--root", str(DEMO), "--config", str(bad))
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "AppsError: " in debug.stderr and "courseware.yaml:2: serve.max_kernels:" in debug.stderr


def test_seminar_passes_arguments_after_the_double_dash_to_voila(tmp_path: Path) -> None:
    """Voila's own option (its log level) reaches Voila: its debug lines (where it looks for its
    config files, logged only at DEBUG) appear in the server's log."""
    server = VoilaServer(
        DEMO,
        tmp_path / "responses.sqlite",
        command=["seminar", "demo", "--root", str(DEMO), "--new-session"],
        args=["--", "--Voila.log_level=DEBUG"],
    )
    try:
        log = server.log_path.read_text(encoding="utf-8")
    finally:
        server.stop()
    assert "Learners join at:" in log
    assert "[CoursewareVoila] Looking for voila in " in log, log[:2000]
