"""LTI 1.3 Advantage against a local platform that signs and checks real JWTs.

The platform (tests/fixtures/lti/platform.py) runs on loopback with its own RS256 key and JWKS; the
tool (``courseware.lti.make_app``) runs on loopback with the key pair ``courseware lti keys`` made.
A ``requests`` session plays the browser through the OIDC login and launch. Marks come from a real
nbgrader course autograded by ``courseware grade autograde``: two good submissions, one nbgrader
cannot grade, one flagged as possible tampering.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from fixtures.hub.hubtest import free_port

from courseware.cli import main as courseware_main
from courseware.lti import (
    Ledger,
    LtiError,
    load_tool_config,
    make_app,
    release_marks,
    send_marks,
    sync_roster,
)

from conftest import FIXTURES, REPO

sys.path.insert(0, str(FIXTURES / "lti"))
sys.path.insert(0, str(FIXTURES / "grading"))
import cohort
from platform_vle import LIS, Launch, Platform, Thread

pytestmark = pytest.mark.timeout(240)
BIN = str(Path(sys.executable).parent)
COURSE = "mbchb-y3"  # the slug of the platform's context label "MBChB Y3"
MODULE = "breaking-bad-news-spikes"
HUB = "https://hub.example.ac.uk"
REPOSITORY = "https://git.example.ac.uk/medicine/empathy-courseware.git"
LEARNERS = ["s000", "s001", "s002", "bad-not-a-notebook", "bad-patched-grader"]


@dataclass
class Setup:
    platform: Platform
    tool_url: str
    config_path: Path
    state: Path
    root: Path


class Form(HTMLParser):
    """The first form on a page: its action and fields (what a browser would post)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.radios: list[str] = []
        self.labels: dict[str, str] = {}
        self._label: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "radio":
            self.radios.append(a["value"])
            self.labels.setdefault(a["id"], "")
        elif tag == "input" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "label":
            self._label = a.get("for")

    def handle_data(self, data: str) -> None:
        if self._label:
            self.labels[self._label] = self.labels.get(self._label, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label = None


@pytest.fixture(scope="module")
def lti(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("lti")
    assert courseware_main(["lti", "keys", str(root / "keys")]) == 0
    platform = Platform(free_port())
    platform.members = [
        {"user_id": s, "status": "Active", "roles": [LIS + "Learner"]} for s in LEARNERS
    ] + [
        {"user_id": "t-anna", "status": "Active", "roles": [LIS + "Instructor"]},
        {"user_id": "s-gone", "status": "Inactive", "roles": ["Learner"]},
    ]
    port = free_port()
    tool_url = f"http://127.0.0.1:{port}/lti"
    platform.tool_launch, platform.tool_jwks = f"{tool_url}/launch", f"{tool_url}/jwks"
    config_path = root / "lti.json"
    config_path.write_text(
        json.dumps(
            {
                "tool_url": tool_url,
                "private_key": "keys/private.pem",
                "public_key": "keys/public.pem",
                "state": "lti-state.sqlite",
                "curriculum": str(REPO),
                "hub": HUB,
                "repository": REPOSITORY,
                "platforms": [platform.registration()],
            }
        )
    )
    config = load_tool_config(config_path)
    platform.start()
    tool = Thread(make_app(config, prefix="/lti"), port).start()
    try:
        yield Setup(platform, tool_url, config_path, config.state, root)
    finally:
        tool.stop()
        platform.stop()


def launch(
    s: Setup, launch_: Launch, poster: requests.Session | None = None
) -> tuple[requests.Response, requests.Session, dict[str, str]]:
    """Platform-initiated login, the OIDC round trip, and the form post back to the tool (by
    ``poster``, if another browser posts it)."""
    browser = requests.Session()
    hint = s.platform.pending(launch_)
    login = browser.get(
        f"{s.tool_url}/login",
        params={
            "iss": s.platform.issuer,
            "client_id": s.platform.client_id,
            "login_hint": launch_.user,
            "lti_message_hint": hint,
            "target_link_uri": f"{s.tool_url}/launch",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 302, login.text
    auth = browser.get(login.headers["Location"], timeout=30)
    assert auth.status_code == 200, auth.text
    form = Form(auth.text)
    answer = (poster or browser).post(
        form.action, data=form.fields, allow_redirects=False, timeout=30
    )
    return answer, browser, form.fields


def test_resource_launch_records_the_course_and_opens_the_module(lti: Setup) -> None:
    answer, _, _ = launch(
        lti, Launch("s000", [LIS + "Learner"], custom={"courseware_target": MODULE})
    )
    assert answer.status_code == 302, answer.text
    link = urlparse(answer.headers["Location"])
    assert f"{link.scheme}://{link.netloc}" == HUB and link.path == "/hub/user-redirect/git-pull"
    query = parse_qs(link.query)
    assert query["repo"] == [REPOSITORY] and query["urlpath"][0].endswith(f"/module/{MODULE}")
    with Ledger(lti.state) as ledger:
        context = ledger.context(COURSE)
    assert context.context_id == "ctx-42" and context.title == "Year 3 empathy"
    assert context.lineitems == f"{lti.platform.url}/lineitems"
    assert context.memberships == f"{lti.platform.url}/memberships"


def test_tool_publishes_its_public_key_only(lti: Setup) -> None:
    keys = requests.get(f"{lti.tool_url}/jwks", timeout=10).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert "d" not in keys[0] and "p" not in keys[0]  # no private parts


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("bad-signature", "Signature verification failed"),
        ("wrong-audience", "[client_id=another-tool] not found"),
        ("expired", "Signature has expired"),
    ],
)
def test_hostile_id_tokens_are_refused(lti: Setup, tamper: str, reason: str) -> None:
    answer, _, _ = launch(
        lti, Launch("s001", [LIS + "Learner"], custom={"courseware_target": MODULE}, tamper=tamper)
    )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    assert reason in answer.text
    assert "Location" not in answer.headers


def test_a_replayed_launch_is_refused(lti: Setup) -> None:
    first, browser, fields = launch(
        lti, Launch("s001", [LIS + "Learner"], custom={"courseware_target": MODULE})
    )
    assert first.status_code == 302
    again = browser.post(f"{lti.tool_url}/launch", data=fields, allow_redirects=False, timeout=30)
    assert again.status_code == 400 and "Invalid Nonce" in again.text
    stranger, _, _ = launch(  # another browser posts it: it lacks the state cookie
        lti,
        Launch("s001", [LIS + "Learner"], custom={"courseware_target": MODULE}),
        poster=requests.Session(),
    )
    assert stranger.status_code == 400 and "State not found" in stranger.text
    junk = requests.post(f"{lti.tool_url}/launch", data={"state": "x"}, timeout=30)
    assert junk.status_code == 400


def test_login_from_an_unknown_vle_is_refused(lti: Setup) -> None:
    answer = requests.get(
        f"{lti.tool_url}/login",
        params={"iss": "https://evil.example.org", "login_hint": "x"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 400
    assert "iss https://evil.example.org not found in settings" in answer.text


def test_deep_linking_returns_a_signed_link_that_opens_the_course(lti: Setup) -> None:
    answer, browser, _ = launch(
        lti, Launch("t-anna", [LIS + "Instructor"], "LtiDeepLinkingRequest")
    )
    assert answer.status_code == 200, answer.text
    picker = Form(answer.text)
    assert MODULE in picker.radios and "mbchb-empathy-spiral" in picker.radios
    assert all(label.strip() for label in picker.labels.values())  # every choice is labelled
    chosen = browser.post(
        picker.action,
        data={**picker.fields, "target": "foundation-year-empathy"},
        allow_redirects=False,
        timeout=30,
    )
    assert chosen.status_code == 200, chosen.text
    back = Form(chosen.text)
    assert back.action == f"{lti.platform.url}/deep-link-return"
    received = requests.post(back.action, data=back.fields, timeout=30)
    assert received.status_code == 200, received.text
    items = lti.platform.deep_links[-1][
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
    ]
    assert len(items) > 1 and all(i["type"] == "ltiResourceLink" for i in items)
    assert all(i["url"] == f"{lti.tool_url}/launch" for i in items)
    first = items[0]["custom"]["courseware_target"]
    # a learner following the stored link lands on that module's nbgitpuller link
    opened, _, _ = launch(
        lti, Launch("s002", [LIS + "Learner"], custom={"courseware_target": first})
    )
    assert opened.status_code == 302
    assert parse_qs(urlparse(opened.headers["Location"]).query)["urlpath"][0].endswith(first)
    # the deep-linking launch answers once
    replay = browser.post(picker.action, data={**picker.fields, "target": MODULE}, timeout=30)
    assert replay.status_code == 400 and "expired or was used" in replay.text


def test_a_forged_deep_linking_response_is_refused_by_the_platform(lti: Setup) -> None:
    answer, browser, _ = launch(
        lti, Launch("t-anna", [LIS + "Instructor"], "LtiDeepLinkingRequest")
    )
    picker = Form(answer.text)
    chosen = browser.post(picker.action, data={**picker.fields, "target": MODULE}, timeout=30)
    token = Form(chosen.text).fields["JWT"]
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    items = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    items[0]["url"] = "https://evil.example.org/phish"  # changed on the way, signature kept
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = ".".join([head, changed, sig])
    refused = requests.post(
        f"{lti.platform.url}/deep-link-return", data={"JWT": forged}, timeout=30
    )
    assert refused.status_code == 400 and "Signature verification failed" in refused.text
    accepted = requests.post(
        f"{lti.platform.url}/deep-link-return", data={"JWT": token}, timeout=30
    )
    assert accepted.status_code == 200
    again = requests.post(f"{lti.platform.url}/deep-link-return", data={"JWT": token}, timeout=30)
    assert again.status_code == 400 and "used before" in again.text


def test_a_learner_cannot_deep_link(lti: Setup) -> None:
    answer, _, _ = launch(lti, Launch("s000", [LIS + "Learner"], "LtiDeepLinkingRequest"))
    assert answer.status_code == 403 and "only a tutor" in answer.text


# -- marks and rosters over a real nbgrader course ------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "assignments", folder, dirs_exist_ok=True)
    from nbgrader.apps import NbGraderAPI

    from courseware.grading import CourseFolder

    api = NbGraderAPI(config=CourseFolder.open(folder).config())  # nbgrader generate_assignment
    generated = api.generate_assignment(cohort.COMM)
    assert generated["success"], generated
    kinds = cohort.BAD_KINDS
    cohort.BAD_KINDS = ["not-a-notebook", "patched-grader"]
    try:
        cohort.build_comm_cohort(folder, 2)
    finally:
        cohort.BAD_KINDS = kinds
    run(
        sys.executable,
        "-m",
        "courseware.cli",
        "grade",
        "autograde",
        cohort.COMM,
        "--jobs",
        "2",
        cwd=folder,
    )
    for student in ("s000", "s001", "bad-patched-grader"):
        mark_reply(folder, student, 2.0)  # the tutor marks the written reply in the formgrader
    return folder


def mark_reply(folder: Path, student: str, points: float) -> None:
    """What the formgrader does when a tutor marks a manually graded cell."""
    from courseware.grading import CourseFolder

    with CourseFolder.open(folder).gradebook() as gb:
        for nb in gb.find_submission(cohort.COMM, student).notebooks:
            for grade in nb.grades:
                if grade.auto_score is None:  # the written reply: no automatic score
                    grade.manual_score = min(points, grade.max_score)
                    grade.needs_manual_grade = False
        gb.db.commit()


def launched(lti: Setup) -> None:
    """A learner opens the tool from the VLE course: the tool learns its service endpoints."""
    answer, _, _ = launch(
        lti, Launch("s000", [LIS + "Learner"], custom={"courseware_target": MODULE})
    )
    assert answer.status_code == 302, answer.text


def test_roster_pages_through_the_membership_into_nbgrader(lti: Setup, course: Path) -> None:
    launched(lti)
    config = load_tool_config(lti.config_path)
    pages = lti.platform.pages_served
    with Ledger(lti.state) as ledger:
        roster = sync_roster(config, ledger, COURSE, course_root=course)
    assert lti.platform.pages_served - pages == 4  # 7 members, 2 a page
    assert {m.name for m in roster.members} == {*LEARNERS, "t-anna", "s-gone"}
    assert roster.students_added == ["s002"]  # the others submitted already
    assert roster.students_gone == []
    assert roster.groups["nbgrader-mbchb-y3"] == sorted(LEARNERS)  # not the inactive one
    assert roster.groups["formgrade-mbchb-y3"] == ["t-anna"]
    from courseware.grading import CourseFolder

    with CourseFolder.open(course).gradebook() as gb:
        students = {s.id: s for s in gb.students}
    assert set(students) == set(LEARNERS)  # tutors and the inactive learner are not students
    assert students["s002"].first_name is None  # pseudonymous unless names are asked for


def test_only_released_final_marks_reach_the_gradebook(lti: Setup, course: Path) -> None:
    launched(lti)
    config = load_tool_config(lti.config_path)
    with Ledger(lti.state) as ledger:
        before = send_marks(config, ledger, course, COURSE, cohort.COMM, by="t-anna")
        assert before.sent == {} and lti.platform.scores == []
        assert "not released" in before.refused["s000"]
        released, held = release_marks(ledger, course, COURSE, cohort.COMM, by="t-anna")
        assert {r.student for r in released} == {"s000", "s001"}
        assert held["bad-not-a-notebook"].startswith("failed-to-grade")
        assert held["bad-patched-grader"].startswith("needs-review")
        report = send_marks(config, ledger, course, COURSE, cohort.COMM, by="t-anna")
        sent = {score["userId"]: score for _, score in lti.platform.scores}
        assert set(sent) == {"s000", "s001"} == set(report.sent)
        for student, given in report.sent.items():
            assert sent[student]["scoreGiven"] == given == released_score(released, student)
            assert sent[student]["gradingProgress"] == "FullyGraded"
        assert report.refused["bad-not-a-notebook"].startswith("failed-to-grade")
        assert report.refused["bad-patched-grader"].startswith("needs-review")
        (item,) = lti.platform.lineitems.values()
        assert item["tag"] == cohort.COMM and item["scoreMaximum"] == released[0].max_score
        # again: nothing new goes, the line item is reused
        again = send_marks(config, ledger, course, COURSE, cohort.COMM, by="t-anna")
        assert again.sent == {} and sorted(again.unchanged) == ["s000", "s001"]
        assert len(lti.platform.scores) == 2 and len(lti.platform.lineitems) == 1
        # a mark changed after its release waits for a tutor to release it again
        mark_reply(course, "s001", 1.0)
        changed = send_marks(config, ledger, course, COURSE, cohort.COMM, by="t-anna")
        assert "the mark changed since t-anna released" in changed.refused["s001"]
        assert changed.sent == {} and len(lti.platform.scores) == 2
        # released again, but the VLE refuses it (the learner left the course): logged, not lost
        release_marks(ledger, course, COURSE, cohort.COMM, by="t-anna", students=["s001"])
        members = lti.platform.members
        lti.platform.members = [m for m in members if m["user_id"] != "s001"]
        try:
            refused = send_marks(config, ledger, course, COURSE, cohort.COMM, by="t-anna")
        finally:
            lti.platform.members = members
        assert (
            refused.errors["s001"].startswith("400") and "no user 's001'" in refused.errors["s001"]
        )
        log = ledger.sends(COURSE, cohort.COMM)
        now_released = ledger.releases(COURSE, cohort.COMM)["s001"].score
    (error,) = [s for s in log if s.outcome == "error"]
    assert error.student == "s001" and error.status == 400 and error.score == now_released
    assert "no user 's001' on this course" in error.response
    sent_log = [s for s in log if s.outcome == "sent"]
    assert {s.student for s in sent_log} == {"s000", "s001"}
    assert all(s.by == "t-anna" and s.status == 200 and s.lineitem == item["id"] for s in sent_log)
    assert not any(s.outcome == "sent" and s.student.startswith("bad-") for s in log)
    assert any(s.outcome == "refused" and s.student == "bad-patched-grader" for s in log)


def released_score(released: list[Any], student: str) -> float:
    return float(next(r.score for r in released if r.student == student))


def test_services_without_the_vles_grant_fail_clearly(lti: Setup, course: Path) -> None:
    launched(lti)
    config = load_tool_config(lti.config_path)
    granted = list(lti.platform.granted)
    lti.platform.granted = granted[:3]  # the VLE stops granting the membership service
    try:
        with Ledger(lti.state) as ledger, pytest.raises(LtiError, match="invalid_scope"):
            sync_roster(config, ledger, COURSE)
    finally:
        lti.platform.granted = granted
    with Ledger(lti.state) as ledger, pytest.raises(LtiError, match="no VLE course 'other'"):
        sync_roster(config, ledger, "other")


def test_cli_roster_and_send_marks(
    lti: Setup, course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    launched(lti)
    code = courseware_main(
        [
            "lti",
            "roster",
            "--config",
            str(lti.config_path),
            "--course",
            COURSE,
            "--nbgrader",
            str(course),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "7 members" in out.out and "nbgrader-mbchb-y3: 5" in out.out
    code = courseware_main(
        [
            "lti",
            "release",
            cohort.COMM,
            "--config",
            str(lti.config_path),
            "--course",
            COURSE,
            "--nbgrader",
            str(course),
            "--by",
            "t-anna",
        ]
    )
    out = capsys.readouterr()
    assert code == 0 and "2 released for the VLE, 3 held back" in out.out, out
    code = courseware_main(
        [
            "lti",
            "send-marks",
            cohort.COMM,
            "--config",
            str(lti.config_path),
            "--course",
            COURSE,
            "--nbgrader",
            str(course),
            "--by",
            "t-anna",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    found = re.search(r"(\d) sent, (\d) unchanged, 3 held back, 0 refused", out.out)
    assert found and int(found[1]) + int(found[2]) == 2, out.out
    assert "bad-patched-grader: needs-review" in out.out
    code = courseware_main(
        ["lti", "roster", "--config", str(lti.root / "missing.json"), "--course", COURSE]
    )
    assert code == 1 and "missing.json" in capsys.readouterr().err


# -- docs/deployment.md's LTI section, walked ------------------------------------------------

GUIDE = REPO / "docs" / "deployment.md"
LTI_BLOCK = re.compile(r"^<!-- lti(?:: (\w+))? -->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def guide_blocks() -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## LTI 1.3 Advantage") :]
    section = section[: section.index("\n## ", 1)]
    blocks = [(kind or "", body) for kind, body in LTI_BLOCK.findall(section)]
    assert [k for k, _ in blocks if k] == ["settings", "serve"], "the LTI section lost its blocks"
    return blocks


def test_deployment_guide_lti_section_walks(lti: Setup, course: Path, tmp_path: Path) -> None:
    """Each block of the section runs as written, with the settings pointing at the local VLE."""
    blocks = guide_blocks()
    port = free_port()
    tool_url = f"http://127.0.0.1:{port}/services/courseware-lti"
    p = lti.platform
    values = {
        "LTI_DIR": str(tmp_path / "lti"),
        "TOOL_URL": tool_url,
        "HUB_URL": HUB,
        "COURSE_REPO": REPOSITORY,
        "CURRICULUM": str(REPO),
        "VLE_ISSUER": p.issuer,
        "VLE_CLIENT_ID": p.client_id,
        "VLE_DEPLOYMENT_ID": p.deployment_id,
        "VLE_AUTH_URL": f"{p.url}/auth",
        "VLE_TOKEN_URL": f"{p.url}/token",
        "VLE_JWKS_URL": f"{p.url}/jwks",
        "LTI_PORT": str(port),
        "NBGRADER_COURSE": str(course),
        "VLE_COURSE": COURSE,
        "ASSIGNMENT": cohort.COMM,
        "TUTOR": "t-anna",
    }
    names = [line.split("=", 1)[0] for line in blocks[0][1].splitlines() if "=" in line]
    assert sorted(names) == sorted(values), "the settings block and the test disagree"
    settings = "".join(f"{k}={json.dumps(v)}\n" for k, v in values.items())
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)

    def bash(body: str) -> str:
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + settings + body],
            env=env,
            capture_output=True,
            text=True,
            timeout=200,
        )
        assert done.returncode == 0, f"{body}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    outputs: list[str] = []
    server: subprocess.Popen[bytes] | None = None
    saved = p.tool_launch, p.tool_jwks
    p.tool_launch, p.tool_jwks = f"{tool_url}/launch", f"{tool_url}/jwks"
    try:
        for kind, body in blocks[1:]:
            if kind == "serve":
                log = (tmp_path / "serve.log").open("wb")
                server = subprocess.Popen(
                    ["bash", "-c", settings + "exec " + body.strip()],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                wait_for(f"{tool_url}/jwks", server, tmp_path / "serve.log")
                walked = Setup(p, tool_url, tmp_path / "lti" / "lti.json", lti.state, lti.root)
                launched(walked)  # "open the tool once from the VLE course"
            else:
                outputs.append(bash(body))
    finally:
        p.tool_launch, p.tool_jwks = saved
        if server is not None:
            server.terminate()
            server.wait(20)
    assert "7 members on the VLE course" in outputs[-1]
    assert "2 released for the VLE" in outputs[-1]
    assert re.search(r"\d sent, \d unchanged, 3 held back, 0 refused", outputs[-1])
    with Ledger(tmp_path / "lti" / "lti-state.sqlite") as ledger:
        assert {s.student for s in ledger.sends(COURSE) if s.outcome == "sent"} == {"s000", "s001"}


def wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    import time

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the tool exited:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the tool did not answer:\n{log.read_text()}")


# -- the hub's groups, on a real JupyterHub ---------------------------------------------------


@pytest.mark.hub
def test_roster_sets_the_course_hub_groups(
    lti: Setup, postgres: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from fixtures.hub.hubtest import Hub

    hub = Hub(
        tmp_path_factory.mktemp("hub"),
        database_url=postgres.create_database("hub_lti"),
        groups={},
        courses=[COURSE, "pgcert"],
    )
    # the hub runs the tool as its service courseware-lti (deploy/jupyterhub_config.py)
    tool_dir = hub.root / "lti"
    assert courseware_main(["lti", "keys", str(tool_dir / "keys")]) == 0
    settings = json.loads(lti.config_path.read_text())
    settings.update(
        tool_url=f"{hub.url}/services/courseware-lti",
        private_key=str(tool_dir / "keys" / "private.pem"),
        public_key=str(tool_dir / "keys" / "public.pem"),
        state=str(tool_dir / "lti-state.sqlite"),
    )
    (tool_dir / "lti.json").write_text(json.dumps(settings))
    hub.env["COURSEWARE_LTI_CONFIG"] = str(tool_dir / "lti.json")
    hub.env["COURSEWARE_LTI_PORT"] = str(free_port())
    hub.start()
    members = list(lti.platform.members)
    try:
        jwks = f"{hub.url}/services/courseware-lti/jwks"
        wait_for(jwks, hub.process, hub.log_path)  # type: ignore[arg-type]
        (key,) = requests.get(jwks, timeout=10).json()["keys"]
        from pylti1p3.registration import Registration

        public = (tool_dir / "keys" / "public.pem").read_text()
        assert key["n"] == Registration.get_jwk(public)["n"]  # the service's own key, proxied
        launched(lti)
        config = load_tool_config(lti.config_path)
        # someone added by hand who is not on the VLE course, and a learner's other course
        for user in ("stray", "s000"):
            assert hub.hub("POST", f"/users/{user}", {})[0] in (201, 409)
        hub.hub("POST", f"/groups/nbgrader-{COURSE}/users", {"users": ["stray"]})
        hub.hub("POST", "/groups/nbgrader-pgcert/users", {"users": ["s000"]})

        def sync() -> Any:
            with Ledger(lti.state) as ledger:
                return sync_roster(
                    config, ledger, COURSE, hub_api=hub.api, hub_token=hub.admin_token
                )

        def group(name: str) -> list[str]:
            status, answer = hub.hub("GET", f"/groups/{name}")
            assert status == 200, answer
            return sorted(answer["users"])

        roster = sync()
        assert group(f"nbgrader-{COURSE}") == sorted(LEARNERS)
        assert group(f"formgrade-{COURSE}") == ["t-anna"] == group(f"seminar-leads-{COURSE}")
        assert roster.removed == {f"nbgrader-{COURSE}": ["stray"]}
        assert group("nbgrader-pgcert") == ["s000"]  # another course's group is left alone
        # s002 leaves the VLE course; the next sync takes them out of the course's group only
        lti.platform.members = [m for m in members if m["user_id"] != "s002"]
        again = sync()
        assert again.removed == {f"nbgrader-{COURSE}": ["s002"]} and again.added == {}
        assert group(f"nbgrader-{COURSE}") == sorted(set(LEARNERS) - {"s002"})
    finally:
        lti.platform.members = members
        hub.stop()


# -- the tutor's pages in a real browser -------------------------------------------------------


@pytest.mark.browser
def test_tutor_picks_a_module_in_chromium_and_the_pages_pass_axe(lti: Setup, page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect

    from courseware.content import load_module

    title = load_module(REPO / "modules" / "undergraduate" / MODULE).spec.title
    hint = lti.platform.pending(Launch("t-anna", [LIS + "Instructor"], "LtiDeepLinkingRequest"))
    query = {
        "iss": lti.platform.issuer,
        "client_id": lti.platform.client_id,
        "login_hint": "t-anna",
        "lti_message_hint": hint,
    }
    page.goto(f"{lti.tool_url}/login?{urlencode(query)}")
    expect(page.get_by_role("heading", name="Add courseware")).to_be_visible(timeout=30_000)
    assert Axe().run(page).response["violations"] == []
    page.get_by_label(f"{title} (module)").check()
    page.get_by_role("button", name="Add to the VLE").click()
    expect(page.get_by_text("Content added to the course.")).to_be_visible(timeout=30_000)
    items = lti.platform.deep_links[-1][
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
    ]
    assert [i["custom"]["courseware_target"] for i in items] == [MODULE]
    assert items[0]["title"] == title
    # a refusal is a page too: readable and labelled
    page.goto(f"{lti.tool_url}/login?iss=https%3A%2F%2Fevil.example.org&login_hint=x")
    expect(page.get_by_role("heading", name="LTI launch refused")).to_be_visible()
    assert Axe().run(page).response["violations"] == []


def test_a_flood_of_logins_cannot_fill_the_tools_memory() -> None:
    from courseware.lti._web import _Store

    store = _Store(limit=100)
    for n in range(1000):
        store.set(f"nonce-{n}", True, 86400)
    assert len(store._data) == 100 and store.get("nonce-999") and store.get("nonce-0") is None
    assert store.get("nonce-999", pop=True) and store.get("nonce-999") is None  # used once


def test_the_hub_config_adds_the_tool_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from traitlets.config.loader import PyFileConfigLoader

    def hub_config() -> Any:
        path = REPO / "deploy" / "jupyterhub_config.py"
        return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()

    monkeypatch.delenv("COURSEWARE_LTI_CONFIG", raising=False)
    assert "courseware-lti" not in {s["name"] for s in hub_config().JupyterHub.services}
    bad = tmp_path / "lti.json"
    bad.write_text('{"tool_url": "ftp://x", "platforms": []}')
    monkeypatch.setenv("COURSEWARE_LTI_CONFIG", str(bad))
    with pytest.raises(LtiError, match=r"lti.json: .*tool_url: must be an http\(s\) URL"):
        hub_config()  # a bad lti.json stops the hub at start, naming the file and the field


def test_a_link_to_nothing_is_a_clear_404_shown_escaped(lti: Setup) -> None:
    hostile = "<script>alert(1)</script>\nX-Injected: 1"
    answer, _, _ = launch(
        lti, Launch("s000", [LIS + "Learner"], custom={"courseware_target": hostile})
    )
    assert answer.status_code == 404, answer.text
    assert "no module or course with id" in answer.text
    assert "<script>alert" not in answer.text and "&lt;script&gt;" in answer.text
    assert "X-Injected" not in answer.headers
