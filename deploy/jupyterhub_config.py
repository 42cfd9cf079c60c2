"""JupyterHub on one machine for the courseware: the service, roles, nbgrader for several courses.

Start with ``jupyterhub -f deploy/jupyterhub_config.py`` after setting, in the hub's environment:

* ``COURSEWARE_DATABASE_URL`` — ``postgresql://courseware:<password>@127.0.0.1/courseware``
  (default: a SQLite file, enough for a single-machine hub). Only the service sees it.
* ``COURSEWARE_COURSES`` — course ids separated by spaces, e.g. ``mbchb-y3 pgcert-empathy``. Each
  gets nbgrader's groups (``nbgrader-<course>`` learners, ``formgrade-<course>`` graders, who are
  also the cohort's tutors) and the courseware's (``evaluation-<course>``,
  ``seminar-leads-<course>``); put people in them from the admin page, the REST API, or an LMS
  through LTI 1.3 (``deploy/lti13_config.py``).
* ``COURSEWARE_COURSE_MODULES`` (optional) — ``course=module,module`` pairs separated by spaces:
  each course's modules. A tutor reading through a course's group sees only its modules' events,
  even of a learner enrolled in two courses (without it, a tutor sees the learner's work in any
  module). Set it whenever a learner can be in more than one course.
* ``COURSEWARE_FORMGRADERS`` (optional) — ``course=/path/to/course/dir`` pairs separated by
  spaces: each runs nbgrader's formgrader as a hub service at ``/services/<course>/`` that only
  ``formgrade-<course>`` may open (nbgrader's documented multi-course layout).

Everything else is JupyterHub's own configuration: pick an authenticator and spawner for your
site (docs/deployment.md). See ``deploy/nbgrader_config.py`` for the shared exchange.
"""

import os
import sys
from pathlib import Path

from courseware.hub import configure_hub, course_groups

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

COURSES = os.environ.get("COURSEWARE_COURSES", "clinical-empathy").split()
SERVICE_PORT = int(os.environ.get("COURSEWARE_SERVICE_PORT", "10101"))

# The courseware service (managed: started, and restarted if it dies, by the hub), its custom
# scopes and roles, the course groups, and the learners' store pointing at the service.
configure_hub(
    c,
    courses=COURSES,
    database_url=os.environ.get(
        "COURSEWARE_DATABASE_URL", "sqlite:////srv/courseware/courseware-service.sqlite"
    ),
    service_url=f"http://127.0.0.1:{SERVICE_PORT}",
    min_group_size=int(os.environ.get("COURSEWARE_MIN_GROUP_SIZE", "5")),
    groups=os.environ.get("COURSEWARE_HUB_GROUPS", "1") != "0",
    course_modules=os.environ.get("COURSEWARE_COURSE_MODULES", ""),
)

# nbgrader's formgrader for each course, as a hub service only its graders may open.
for number, pair in enumerate(os.environ.get("COURSEWARE_FORMGRADERS", "").split()):
    course, _, course_dir = pair.partition("=")
    c.JupyterHub.services.append(
        {
            "name": course,
            "url": f"http://127.0.0.1:{SERVICE_PORT + 1 + number}",
            "command": [
                str(Path(sys.executable).with_name("jupyterhub-singleuser")),
                f"--ServerApp.root_dir={course_dir}",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            "cwd": course_dir,
            "environment": {"JUPYTERHUB_DEFAULT_URL": "/formgrader"},
            "oauth_no_confirm": True,
        }
    )
    c.JupyterHub.load_roles.append(
        {
            "name": f"formgrader-{course}",
            "description": f"Open the {course} formgrader.",
            "scopes": [f"access:services!service={course}"],
            "groups": [course_groups(course)["tutors"]],
        }
    )
