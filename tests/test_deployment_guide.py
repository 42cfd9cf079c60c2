"""docs/deployment.md's single-machine path, walked literally on a fresh clone of this repository.

Every shell block marked ``<!-- walk -->`` runs in order, as written, in bash as root, with the
settings block's values pointing into a scratch folder: the repository is this checkout (cloned
fresh, so only committed files count), the hub's Python is a new venv, the learners are new Unix
accounts, and the port is free. Two things are scoped for a shared test machine, through
variables the commands already honour: ``COURSEWARE_HUB_PREFIX`` puts init's files under the
scratch folder instead of /etc, /srv and /var, and ``PGCLUSTER`` names a Debian cluster made for
this test (``pg_createcluster``, stopped, so ``hub init`` must start it) instead of ``15/main``.
npm installs "globally" into the scratch folder (``npm_config_prefix``). ``apt-get`` is the one
command replaced: it checks that each named package is installed (dpkg, or its command on PATH)
rather than installing it, because the test machine already has them and must not be upgraded under other tests.

Then, as a person would: the admin signs in with a Unix password (PAM), an account not on the
allow list is refused, a learner signs in and their server runs as their Unix account, their
kernel saves a reflection through the module API, and it is read back from PostgreSQL. The time
from the fresh clone to that first saved answer is printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.cookiejar
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from fixtures.hub.hubtest import Kernel, free_port

from conftest import REPO

pytestmark = [pytest.mark.hub, pytest.mark.timeout(1200)]

GUIDE = REPO / "docs" / "deployment.md"
BLOCK = re.compile(r"^<!-- walk(?:: (\w+))? -->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SETTINGS = ("REPO", "SRC", "VENV", "ADMIN", "LEARNERS", "COURSE", "PORT")
MODULE = "foundation-year/what-is-clinical-empathy"
# Debian's default PATH for root: python3 is the system's, as on a fresh machine.
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
APT_CHECK = """apt-get() {  # the test machine has the packages: check them, install nothing
  [ "$1" = update ] && return 0
  local p; for p in "$@"; do case "$p" in install|-*) ;; *)
    dpkg -s "$p" >/dev/null 2>&1 || command -v "$p" >/dev/null ||
      { echo "apt-get: $p is not installed" >&2; return 1; } ;;
  esac; done
}
"""


def walked_blocks() -> list[tuple[str, str]]:
    """(kind, body) of each marked block of the single-machine section, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## One machine\n") :]
    section = section[: section.index("\n## ", 1)]
    blocks = [(kind or "", body) for kind, body in BLOCK.findall(section)]
    assert blocks and blocks[0][0] == "settings", "docs/deployment.md lost its walked blocks"
    return blocks


def settings_names(body: str) -> list[str]:
    names = []
    for line in body.splitlines():
        match = re.match(r"^([A-Z_]+)=", line)
        assert match, f"the settings block holds only assignments: {line!r}"
        names.append(match.group(1))
    return names


class Scratch:
    """The test's world: a scratch folder others may enter, Unix accounts, a Debian cluster."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.root = Path(tempfile.mkdtemp(prefix="courseware-walk-"))
        self.root.chmod(0o755)  # learners' servers run the venv inside it
        self.admin, self.learner, self.outsider = (f"cw{tag}{r}" for r in ("adm", "lrn", "out"))
        # `hub init` creates each course's formgrader account when it is missing; remove only
        # one this test made
        self.new_graders: list[str] = []
        if not _exists("grader-clinical-empathy"):
            self.new_graders.append("grader-clinical-empathy")
        self.cluster = f"walk{tag}"
        self.port = free_port()
        self.users: list[str] = []
        self.prefix = self.root / "root"
        self.env = {
            "PATH": f"{self.root / 'npm' / 'bin'}:{ROOT_PATH}",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "COURSEWARE_HUB_PREFIX": str(self.prefix),
            "PGCLUSTER": f"15/{self.cluster}",
            "npm_config_prefix": str(self.root / "npm"),
            "npm_config_prefer_offline": "true",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
        }
        for name in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "XDG_CACHE_HOME"):
            if name in os.environ:
                self.env[name] = os.environ[name]
        self.values = {
            "REPO": str(REPO),
            "SRC": str(self.root / "src"),
            "VENV": str(self.root / "venv"),
            "ADMIN": self.admin,
            "LEARNERS": self.learner,
            "COURSE": "clinical-empathy",
            "PORT": str(self.port),
        }

    def settings(self) -> str:
        return "".join(f"{k}={json.dumps(v)}\n" for k, v in self.values.items())

    def bash(self, body: str, timeout: float = 420) -> str:
        script = "set -euo pipefail\n" + APT_CHECK + self.settings() + body
        done = subprocess.run(
            ["bash", "-c", script],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, (
            f"{body}\nfailed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
        return done.stdout + done.stderr

    def make_cluster(self) -> None:
        port = free_port()
        subprocess.run(
            ["pg_createcluster", "15", self.cluster, "-p", str(port)],
            check=True,
            capture_output=True,
        )

    def clean(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run(
                [str(self.root / "venv" / "bin" / "courseware"), "hub", "stop"],
                env=self.env,
                capture_output=True,
                timeout=90,
                check=False,
            )
        for name in (self.admin, self.learner, self.outsider, *self.new_graders):
            with contextlib.suppress(KeyError):
                uid = pwd.getpwnam(name).pw_uid
                for proc in psutil.process_iter(["uids"]):
                    if proc.info["uids"] and proc.info["uids"].real == uid:
                        with contextlib.suppress(psutil.Error):
                            proc.kill()  # this test's accounts' leftovers, by id
                subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        subprocess.run(
            ["pg_dropcluster", "--stop", "15", self.cluster], capture_output=True, check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    if os.geteuid() != 0:
        pytest.fail("the deployment guide is walked as root, as it is written")
    world = Scratch()
    try:
        world.make_cluster()
        yield world
    finally:
        world.clean()


class Browser:
    """A signed-in browser session at the hub (cookies and the XSRF token), over urllib."""

    def __init__(self, base: str, user: str, password: str, then: str = "") -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{base}/hub/login", timeout=30).read()
        form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": self.xsrf})
        try:
            where = f"{base}/hub/login?next={urllib.parse.quote(then)}"
            self.opener.open(where, form.encode(), timeout=60).read()
            self.status = 200
        except urllib.error.HTTPError as e:
            self.status = e.code

    @property
    def xsrf(self) -> str:
        """The current XSRF token (the hub sets a new one at sign-in)."""
        return next(c.value for c in self.jar if c.name == "_xsrf")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}/hub/api{path}",
            data=data,
            method=method,
            headers={"X-XSRFToken": self.xsrf, "Content-Type": "application/json"},
        )
        with self.opener.open(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")


def machine_addresses() -> list[str]:
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                found.append(address.address)
    return found


def test_single_machine_path_works_as_written(scratch: Scratch) -> None:
    blocks = walked_blocks()
    assert settings_names(blocks[0][1]) == list(SETTINGS)
    started = time.monotonic()
    for kind, body in blocks[1:]:
        assert kind == "", kind
        step = time.monotonic()
        scratch.bash(body)
        print(f"\n{time.monotonic() - step:5.0f} s  {body.strip().splitlines()[0]}")
        if "useradd" in body:  # the guide says: give each account a password (passwd NAME)
            for name in (scratch.admin, scratch.learner):
                subprocess.run(["chpasswd"], input=f"{name}:pw-{name}\n", text=True, check=True)
    base = f"http://127.0.0.1:{scratch.port}"

    # It listens on loopback only.
    chp = [
        c
        for c in psutil.net_connections("inet")
        if c.status == "LISTEN" and c.laddr.port == scratch.port
    ]
    assert chp and {c.laddr.ip for c in chp} == {"127.0.0.1"}, chp
    for address in machine_addresses():
        with socket.socket() as sock, pytest.raises(OSError):
            sock.settimeout(3)
            sock.connect((address, scratch.port))

    # The admin signs in with their Unix password; an account not allowed cannot.
    admin = Browser(base, scratch.admin, f"pw-{scratch.admin}", then="/hub/home")
    assert admin.status == 200
    assert admin.api("GET", "/user")["admin"] is True
    subprocess.run(["useradd", "--create-home", scratch.outsider], check=True)
    subprocess.run(
        ["chpasswd"], input=f"{scratch.outsider}:pw-{scratch.outsider}\n", text=True, check=True
    )
    assert Browser(base, scratch.outsider, f"pw-{scratch.outsider}").status == 403

    # A learner signs in; the hub starts their server as their own Unix account.
    learner = Browser(base, scratch.learner, f"pw-{scratch.learner}")
    assert learner.status == 200
    deadline = time.monotonic() + 120
    while not (learner.api("GET", "/user")["servers"].get("", {}).get("ready")):
        assert time.monotonic() < deadline, "the learner's server did not start"
        time.sleep(0.5)
    token = learner.api("POST", f"/users/{scratch.learner}/tokens", {"note": "walk"})["token"]
    kernel = Kernel(f"{base}/user/{scratch.learner}", token)
    try:
        module_dir = Path(scratch.values["SRC"]) / "modules" / MODULE
        seen = json.loads(
            kernel.execute(
                "import os, pwd, json\nimport courseware as cw\n"
                f"os.chdir({str(module_dir)!r})\n"
                "module = cw.open_module()\n"
                "r = module.reflection('what-empathy-means')\n"
                "r.text.value = 'First words on the hub: listening before fixing.'\n"
                "assert r.save()\n"
                "print(json.dumps({'user': pwd.getpwuid(os.getuid()).pw_name,"
                " 'store': repr(cw.open_store())}))"
            )
        )
        url = (scratch.prefix / "etc" / "courseware" / "database-url").read_text().strip()
        deadline = time.monotonic() + 60
        while True:
            with psycopg.connect(url) as conn:
                saved = conn.execute(
                    "SELECT value FROM events WHERE learner = %s AND item = %s",
                    (scratch.learner, "what-empathy-means"),
                ).fetchall()
            if saved or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        kernel.close()
    assert seen["user"] == scratch.learner
    assert seen["store"].startswith("ServiceStore(")
    assert saved and "listening before fixing" in saved[-1][0]
    print(f"\nfresh clone -> first saved answer in PostgreSQL: {elapsed:.0f} s")

    # The learner's server process runs as the learner, not as root.
    uid = pwd.getpwnam(scratch.learner).pw_uid
    servers = [
        p
        for p in psutil.process_iter(["cmdline", "uids"])
        if any("jupyterhub-singleuser" in part for part in p.info["cmdline"] or [])
        and p.info["uids"].real == uid
    ]
    assert servers, "no jupyterhub-singleuser runs as the learner"

    # What init left: the URL root-only, the exchange open to all, the course folder staff-only.
    etc = scratch.prefix / "etc" / "courseware"
    assert stat.S_IMODE((etc / "database-url").stat().st_mode) == 0o600
    exchange = scratch.prefix / "srv" / "nbgrader" / "exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    course = scratch.prefix / "srv" / "courseware" / "courses" / "clinical-empathy"
    assert stat.S_IMODE(course.stat().st_mode) == 0o700
    assert "course_id = 'clinical-empathy'" in (course / "nbgrader_config.py").read_text()
    assert (course / "keys" / "communication-skills.yaml").exists()
    assert (scratch.prefix / "etc" / "jupyter" / "nbgrader_config.py").exists()

    # Running init again (after a reboot, say) changes nothing and keeps the password.
    def digest() -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(etc.iterdir())
            if p.is_file()
        }

    before = digest()
    init = next(body for _, body in blocks if "hub init" in body)
    scratch.bash(init)
    assert digest() == before
