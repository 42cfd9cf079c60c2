"""``hub init``'s nbgrader: the shared exchange, the hub-wide config, one course folder per course
(from the packaged ``assignments/`` template) and each course's formgrader account.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from ._layout import HubInitError, HubLayout, deploy_file


# -- nbgrader -----------------------------------------------------------------------------------
def _ensure_grader_accounts(courses: Sequence[str]) -> list[str]:
    """Each course's formgrader is the hub user ``grader-<course>`` (nbgrader's multi-course
    layout). With PAM sign-in, JupyterHub refuses a hub user that is not a Unix account, so
    create a system account without a home or a login for each one that is missing."""
    import pwd

    from ._config import grader_account

    names = [grader_account(course) for course in courses]
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            done = subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise HubInitError(
                    f"could not create the formgrader's account {name}: {done.stderr.strip()}"
                ) from None
    return names


_COURSE_ID = re.compile(r"^c\.CourseDirectory\.course_id = .*$", re.MULTILINE)
_EXCHANGE = re.compile(r"^c\.Exchange\.root = .*$", re.MULTILINE)
_TEMPLATE_PARTS = ("nbgrader_config.py", "source", "keys", "rubrics")


def _install_nbgrader(layout: HubLayout, courses: Iterable[str]) -> list[Path]:
    layout.exchange_dir.mkdir(parents=True, exist_ok=True)
    # Everyone writes into the exchange (nbgrader's layout); the sticky bit stops learners
    # removing what others put at its top level.
    layout.exchange_dir.chmod(0o1777)
    layout.jupyter_config_dir.mkdir(parents=True, exist_ok=True)
    text = deploy_file("nbgrader_config.py").read_text(encoding="utf-8")
    if layout.exchange_dir != Path("/srv/nbgrader/exchange"):
        text += (
            "\n# Set by `courseware hub init`: this hub's exchange.\n"
            f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {str(layout.exchange_dir)!r})\n"
        )
    target = layout.jupyter_config_dir / "nbgrader_config.py"
    target.write_text(text, encoding="utf-8")
    target.chmod(0o644)
    template = deploy_file("assignments")
    made = []
    layout.courses_dir.mkdir(parents=True, exist_ok=True)
    for course in courses:
        folder = layout.courses_dir / course
        folder.mkdir(exist_ok=True)
        folder.chmod(0o700)  # answer keys and marks: staff only (the formgrader runs as root)
        for part in _TEMPLATE_PARTS:
            source = template / part
            files = [source] if source.is_file() else sorted(source.rglob("*"))
            for path in files:
                if not path.is_file():
                    continue
                dest = folder / path.relative_to(template)
                if dest.exists():  # a course in use keeps its own files
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                if path.name == "nbgrader_config.py" and path.parent == template:
                    config = path.read_text(encoding="utf-8")
                    config = _COURSE_ID.sub(f"c.CourseDirectory.course_id = {course!r}", config)
                    # the hub's shared exchange, not the template's folder beside the config
                    exchange = str(layout.exchange_dir)
                    config = _EXCHANGE.sub(
                        f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {exchange!r})",
                        config,
                    )
                    dest.write_text(config, encoding="utf-8")
                else:
                    shutil.copyfile(path, dest)
        made.append(folder)
    return made
