"""``courseware hub init``'s parts that the walked guide cannot vary: passwords that need quoting,
a Python learners cannot run, and a second run over a first (tests/test_deployment_guide.py walks
the whole path on a fresh clone with Debian's cluster tools).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fixtures.hub.hubtest import find_chp
from traitlets.config.loader import PyFileConfigLoader

from courseware.content._course import load_course
from courseware.hub import (
    HubInitError,
    HubLayout,
    check_learners_can_run,
    database_url,
    init_hub,
    migrate,
)
from courseware.hub._config import COURSE_MODULES_ENV, parse_course_modules

from conftest import run_coroutine

HOSTILE = "p@ss/w:rd%40?#[] 'q' \\ é"


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A scratch folder every account may enter (pytest's own is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="courseware-init-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def fake_venv(folder: Path) -> Path:
    """bin/python (the system's) and bin/jupyterhub-singleuser, as a venv lays them out."""
    bindir = folder / "venv" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to("/usr/bin/python3")
    script = bindir / "jupyterhub-singleuser"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    return bindir / "python"


def test_a_password_with_url_characters_still_connects(postgres: Any) -> None:
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS cw_quoting")
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE cw_quoting LOGIN PASSWORD {}").format(
                psycopg.sql.Literal(HOSTILE)
            )
        )
    url = database_url(HOSTILE, postgres.port, user="cw_quoting", database="postgres")
    assert "@" not in url.split("@")[0].split("//")[1].replace("%40", "")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("cw_quoting",)
    # The service reads the same URL (its own parser), and migrates through it.
    db_url = postgres.create_database("init_quoting")
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute('ALTER DATABASE "init_quoting" OWNER TO cw_quoting')
    quoted = database_url(HOSTILE, postgres.port, user="cw_quoting", database="init_quoting")
    assert db_url.rsplit("/", 1)[1] == "init_quoting"
    assert run_coroutine(migrate(quoted)) >= 1


def test_refuses_a_python_learners_cannot_run(open_folder: Path) -> None:
    python = fake_venv(open_folder)
    check_learners_can_run(python)  # /tmp/…/venv, everything readable: accepted
    open_folder.chmod(0o700)  # like /root
    with pytest.raises(HubInitError, match=r"mode 0700 .*/opt/courseware"):
        check_learners_can_run(python)
    open_folder.chmod(0o755)
    (python.parent / "jupyterhub-singleuser").chmod(0o700)
    with pytest.raises(HubInitError, match="jupyterhub-singleuser is mode 0700"):
        check_learners_can_run(python)


def test_the_command_says_what_is_wrong_and_writes_nothing() -> None:
    with tempfile.TemporaryDirectory() as prefix:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "courseware.cli",
                "hub",
                "init",
                "--admin",
                "hubadmin",
                "--course",
                "MBChB Year 3",
                "--prefix",
                prefix,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "--course 'MBChB Year 3': use lower-case letters, digits and -" in done.stderr
        assert list(Path(prefix).iterdir()) == []


def load_config(path: Path) -> Any:
    loader = PyFileConfigLoader(path.name, str(path.parent))
    return loader.load_config()


@pytest.fixture
def grader_accounts() -> Iterator[list[str]]:
    """The formgraders' system accounts `hub init` creates; removed afterwards if it made them."""
    import pwd

    names = ["grader-mbchb-y3", "grader-pgcert-empathy"]
    made = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            made.append(name)
    yield names
    for name in made:
        subprocess.run(["userdel", name], capture_output=True, check=False)


def test_init_twice_gives_the_same_hub(
    postgres: Any, open_folder: Path, grader_accounts: list[str]
) -> None:
    import pwd

    url = postgres.create_database("init_twice")
    layout = HubLayout(open_folder / "root")
    options: dict[str, Any] = {
        "admin": "hubadmin",
        "users": ["learner2", "learner1"],
        "allow_groups": ["medics"],
        "courses": ["mbchb-y3", "pgcert-empathy"],
        "layout": layout,
        "port": 18000,
        "external_database": url,
        "proxy": find_chp(),
        "python": fake_venv(open_folder),
    }
    result = init_hub(**options)
    assert result.url == "http://127.0.0.1:18000"
    for name in grader_accounts:  # PAM refuses a hub user that is not a Unix account
        assert pwd.getpwnam(name).pw_shell == "/usr/sbin/nologin"
    assert f"{open_folder}/venv/bin/courseware hub start --prefix" in result.summary()
    assert "Listens on:      http://127.0.0.1:18000" in result.summary()

    def snapshot() -> dict[str, str]:
        return {
            str(p.relative_to(layout.prefix)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(layout.prefix.rglob("*"))
            if p.is_file()
        }

    first = snapshot()
    # A course in use keeps its own files: a tutor's edit survives the second run.
    course = layout.courses_dir / "mbchb-y3"
    (course / "rubrics" / "reflect.yaml").write_text("edited by a tutor\n")
    first = snapshot()
    init_hub(**options)
    assert snapshot() == first
    assert stat.S_IMODE(layout.database_url_file.stat().st_mode) == 0o600
    assert layout.database_url_file.read_text().strip() == url
    assert stat.S_IMODE(layout.exchange_dir.stat().st_mode) == 0o1777
    assert stat.S_IMODE(course.stat().st_mode) == 0o700
    assert "course_id = 'mbchb-y3'" in (course / "nbgrader_config.py").read_text()
    # each course uses the hub's shared exchange, not an exchange/ folder of its own
    assert (
        f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {str(layout.exchange_dir)!r})"
        in (course / "nbgrader_config.py").read_text()
    )
    assert (
        "course_id = 'pgcert-empathy'"
        in (layout.courses_dir / "pgcert-empathy" / "nbgrader_config.py").read_text()
    )

    # The config it wrote, loaded as JupyterHub loads it: who may sign in, where it listens.
    os.environ.pop("COURSEWARE_FORMGRADERS", None)
    try:
        c = load_config(layout.hub_config)
    finally:
        for name in (
            "COURSEWARE_COURSES",
            "COURSEWARE_SERVICE_PORT",
            "COURSEWARE_FORMGRADERS",
            "COURSEWARE_DATABASE_URL",
            "COURSEWARE_COURSE_MODULES",
        ):
            os.environ.pop(name, None)
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.Authenticator.admin_users == {"hubadmin"}
    assert c.Authenticator.allowed_users == {"learner1", "learner2"}
    assert c.LocalAuthenticator.allowed_groups == {"medics"}
    assert (c.JupyterHub.ip, c.JupyterHub.port, c.JupyterHub.hub_ip) == (
        "127.0.0.1",
        18000,
        "127.0.0.1",
    )
    assert c.JupyterHub.load_groups["nbgrader-mbchb-y3"]["users"] == ["learner2", "learner1"]
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["courseware"]["environment"]["COURSEWARE_DATABASE_URL"] == url
    assert services["courseware"]["url"] == "http://127.0.0.1:20101"
    assert services["mbchb-y3"]["cwd"] == str(course)
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(layout.jupyter_config_dir)
    assert url not in str(c.Spawner.environment)
    assert c.Spawner.cmd == [str(open_folder / "venv" / "bin" / "jupyterhub-singleuser")]


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def scoped_grader_accounts() -> Iterator[None]:
    """The formgraders' accounts for the scoping test's courses, removed if `hub init` made them."""
    import pwd

    made = []
    for name in ("grader-creative-medicine-cpd", "grader-mbchb-y3"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            made.append(name)
    yield
    for name in made:
        subprocess.run(["userdel", name], capture_output=True, check=False)


def test_init_writes_each_courses_modules_so_tutors_reads_are_scoped(
    postgres: Any, open_folder: Path, scoped_grader_accounts: None
) -> None:
    """A learner in two courses: the written config tells the service each course's modules,
    from the course file in the repository or from --modules, so a tutor of one course never
    reads the learner's work in the other."""
    layout = HubLayout(open_folder / "root")
    options: dict[str, Any] = {
        "admin": "hubadmin",
        "users": ["learner1"],
        "courses": ["creative-medicine-cpd", "mbchb-y3"],
        "course_modules": {"mbchb-y3": ["breaking-bad-news-spikes", "responding-with-nurse"]},
        "curriculum": REPO,
        "layout": layout,
        "port": 18100,
        "external_database": postgres.create_database("init_modules"),
        "proxy": find_chp(),
        "python": fake_venv(open_folder),
    }
    result = init_hub(**options)
    assert "Course mbchb-y3: tutors read its modules only (breaking-bad-news-spikes," in (
        result.summary()
    )
    os.environ.pop("COURSEWARE_FORMGRADERS", None)
    try:
        c = load_config(layout.hub_config)
    finally:
        for name in (
            "COURSEWARE_COURSES",
            "COURSEWARE_SERVICE_PORT",
            "COURSEWARE_FORMGRADERS",
            "COURSEWARE_DATABASE_URL",
            COURSE_MODULES_ENV,
        ):
            os.environ.pop(name, None)
    service = next(s for s in c.JupyterHub.services if s["name"] == "courseware")
    # What the service reads at start (courseware.hub._main.serve): each course's modules.
    assert parse_course_modules(service["environment"][COURSE_MODULES_ENV]) == {
        "creative-medicine-cpd": frozenset(  # the course file's modules, whatever they are
            load_course(REPO / "courses" / "creative-medicine-cpd.yaml").spec.modules
        ),
        "mbchb-y3": frozenset({"breaking-bad-news-spikes", "responding-with-nurse"}),
    }

    # A course with no module list (no file, no --modules) is named, so the deployer knows.
    result = init_hub(**{**options, "course_modules": {}})
    assert "Course mbchb-y3: no module list" in result.summary()
    text = layout.hub_config.read_text()
    assert "'creative-medicine-cpd=creative-and-reflective-writing,performative-medicine," in text
    assert "mbchb-y3=" not in text.split(COURSE_MODULES_ENV, 1)[1].splitlines()[0]

    # Modules for a course not being set up, or not a module id: refused before anything changes.
    before = layout.hub_config.read_text()
    for bad, message in (
        ({"mbchb-y4": ["responding-with-nurse"]}, "'mbchb-y4' is not one of the courses"),
        ({"mbchb-y3": ["Breaking Bad News"]}, "'Breaking Bad News' is not a module id"),
    ):
        with pytest.raises(HubInitError, match=message):
            init_hub(**{**options, "course_modules": bad})
    # A course id too long for its formgrader's Unix account (32 characters) is refused too.
    with pytest.raises(HubInitError, match="at most 25 characters"):
        init_hub(**{**options, "courses": ["postgraduate-clinical-empathy"]})
    assert layout.hub_config.read_text() == before


def test_the_modules_option_is_checked_before_anything_is_written() -> None:
    with tempfile.TemporaryDirectory() as prefix:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "courseware.cli",
                "hub",
                "init",
                "--admin",
                "hubadmin",
                "--course",
                "mbchb-y3",
                "--modules",
                "breaking-bad-news-spikes",
                "--prefix",
                prefix,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "--modules 'breaking-bad-news-spikes': write COURSE=MODULE,MODULE" in done.stderr
        assert list(Path(prefix).iterdir()) == []
