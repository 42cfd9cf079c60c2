"""nbgrader for two courses on the same hub, with nbgrader's own multi-course setup.

Courses are hub groups (``nbgrader-<course>`` learners, ``formgrade-<course>`` graders), the
exchange is one shared folder (deploy/nbgrader_config.py, as every learner's server reads it),
and each course's formgrader is a hub service only its graders may open
(deploy/jupyterhub_config.py). Both courses release the same assignment from assignments/source,
which path_includes_course keeps apart. The service runs on SQLite here (a single-machine hub).

A learner's server is spawned by the hub; nbgrader runs in the learner's own kernel with the
kernel's hub token, exactly as the Assignments tab would run it. The instructor's side runs the
nbgrader command line in each course folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.hub.hubtest import Hub, Kernel, http

from conftest import REPO

pytestmark = pytest.mark.hub

COURSES = ("course101", "course202")
ASSIGNMENTS = REPO / "assignments" / "source"


def assignment() -> str:
    found = (
        sorted(p.name for p in ASSIGNMENTS.iterdir() if p.is_dir()) if ASSIGNMENTS.is_dir() else []
    )
    if not found:
        pytest.fail(f"no nbgrader source assignments in {ASSIGNMENTS}")
    return found[0]


def nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(course_dir)}
    return subprocess.run(
        [str(bin_dir / "nbgrader"), *args],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, dict[str, Path], str]]:
    root = tmp_path_factory.mktemp("nbgrader-hub")
    exchange = root / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    config = root / "jupyter-config"
    config.mkdir()
    shutil.copy(REPO / "deploy" / "nbgrader_config.py", config / "nbgrader_config.py")
    name = assignment()
    courses = {}
    for course in COURSES:
        course_dir = root / "courses" / course
        (course_dir / "source").mkdir(parents=True)
        shutil.copytree(ASSIGNMENTS / name, course_dir / "source" / name)
        (course_dir / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.course_id = {course!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
            "c.Exchange.path_includes_course = True\n"
        )
        if courses:  # the same assignment again: copy the generated version, don't regenerate
            shutil.copytree(courses["course101"] / "release", course_dir / "release")
        else:
            done = nbgrader(course_dir, "generate_assignment", name, "--force")
            assert done.returncode == 0, done.stderr[-3000:]
        done = nbgrader(course_dir, "release_assignment", name)
        assert done.returncode == 0, done.stderr[-3000:]
        courses[course] = course_dir
    hub = Hub(
        root / "hub",
        database_url=f"sqlite:///{root / 'courseware-service.sqlite'}",
        groups={
            "nbgrader-course101": ["stu"],
            "nbgrader-course202": ["other"],
            "formgrade-course101": ["tutor"],
        },
        courses=list(COURSES),
        formgraders={"course101": courses["course101"]},
        env={"COURSEWARE_TEST_JUPYTER_CONFIG": str(config), "NBGRADER_EXCHANGE": str(exchange)},
    ).start()
    try:
        hub.spawn("stu")
        yield hub, courses, name
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def student(setup: tuple[Hub, dict[str, Path], str]) -> Iterator[Kernel]:
    hub, _, _ = setup
    kernel = hub.kernel("stu")
    kernel.execute(
        "import subprocess, os\n"
        "def nbgrader(*args):\n"
        "    done = subprocess.run(['nbgrader', *args], cwd=os.environ['HOME'],"
        " capture_output=True, text=True)\n"
        "    print(done.returncode)\n"
        "    print(done.stdout + done.stderr)"
    )
    yield kernel
    kernel.close()


def test_learner_sees_only_their_courses_assignments(
    setup: tuple[Hub, dict[str, Path], str], student: Kernel
) -> None:
    _, _, name = setup
    status, _, listing = student.execute("nbgrader('list')").partition("\n")
    assert status == "0", listing
    assert f"course101 {name}" in listing
    assert "course202" not in listing


def test_learner_fetches_and_submits_to_their_course_only(
    setup: tuple[Hub, dict[str, Path], str], student: Kernel
) -> None:
    hub, courses, name = setup
    status, _, log = student.execute(
        f"nbgrader('fetch_assignment', '--course', 'course101', {name!r})"
    ).partition("\n")
    assert status == "0", log
    fetched = hub.root / "home" / "stu" / "course101" / name
    assert fetched.is_dir() and any(fetched.glob("*.ipynb"))
    status, _, log = student.execute(
        f"nbgrader('fetch_assignment', '--course', 'course202', {name!r})"
    ).partition("\n")
    assert status != "0" and "You do not have access to this course" in log, log
    assert not (hub.root / "home" / "stu" / "course202").exists()
    status, _, log = student.execute(
        f"nbgrader('submit', '--course', 'course101', {name!r})"
    ).partition("\n")
    assert status == "0", log

    collected = nbgrader(courses["course101"], "collect", name)
    assert collected.returncode == 0, collected.stderr[-3000:]
    # nbgrader files a submission under the server's OS account (here the test's own, since the
    # spawner runs servers as the hub's user); on Zero to JupyterHub every pod is "jovyan" and
    # nbgrader uses JUPYTERHUB_USER instead (docs/deployment.md).
    account = pwd.getpwuid(os.getuid()).pw_name
    student_id = "stu" if account == "jovyan" else account
    submitted = courses["course101"] / "submitted" / student_id / name
    assert submitted.is_dir() and any(submitted.glob("*.ipynb"))
    assert list((hub.root.parent / "exchange" / "course202" / "inbound").iterdir()) == []


def test_each_courses_formgrader_is_open_to_its_graders_only(
    setup: tuple[Hub, dict[str, Path], str],
) -> None:
    hub, _, _ = setup
    url = f"{hub.url}/services/course101/formgrader"
    hub.ensure_user("tutor")
    status, page = http("GET", url, token=hub.token("tutor"))
    assert status == 200 and "formgrader" in str(page).lower()
    status, _ = http("GET", url, token=hub.token("stu"))
    assert status == 403


def test_service_runs_on_sqlite_for_a_single_machine_hub(
    setup: tuple[Hub, dict[str, Path], str], student: Kernel
) -> None:
    hub, _, _ = setup
    out = student.execute(
        "import courseware as cw\nfrom courseware.store import Event\n"
        "s = cw.open_store()\n"
        "s.append(Event('stu', 'm', 'r', 'reflection.saved', {'text': 'on sqlite'}))\n"
        "print(s.events(learner='stu')[-1].value['text'])"
    )
    assert out.strip() == "on sqlite"
    assert (hub.root.parent / "courseware-service.sqlite").exists()
