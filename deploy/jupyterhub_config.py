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
* ``COURSEWARE_RATE_LIMIT`` (optional) — each user's share of the courseware service,
  ``RATE/BURST`` requests (default ``20/120``; a large body costs more, a refused one more
  still), or ``off``. A user past it gets 429 and the outbox retries later, so one user's flood
  never slows everyone else's saves.
* ``COURSEWARE_FORMGRADERS`` (optional) — ``course=/path/to/course/dir`` pairs separated by
  spaces: each runs nbgrader's formgrader as a hub service at ``/services/<course>/`` that only
  ``formgrade-<course>`` may open, as the grader account ``grader-<course>`` (nbgrader's
  documented multi-course layout), with the courseware marking view at
  ``/services/<course>/marking/``. ``COURSEWARE_GRADER_UNIX_ACCOUNTS=1`` runs each as the Unix
  account ``grader-<course>`` too (create it, and let it own the course folder).
* ``COURSEWARE_LTI_CONFIG`` (optional) — the LTI 1.3 Advantage tool's ``lti.json``: the hub runs
  the tool as the service ``courseware-lti`` on ``COURSEWARE_LTI_PORT`` (default 10099)
  (docs/deployment.md, "LTI 1.3 Advantage").

Everything else is JupyterHub's own configuration: pick an authenticator and spawner for your
site (docs/deployment.md). See ``deploy/nbgrader_config.py`` for the shared exchange.
"""

import os

from courseware.hub import configure_hub, formgrader_services

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
    rate_limit=os.environ.get("COURSEWARE_RATE_LIMIT", ""),
)

# nbgrader's formgrader for each course, as a hub service run by the course's grader account
# (grader-<course>, put in formgrade-<course>) that only the course's tutors may open; it also
# serves the courseware marking view, its landing page.
formgrader_services(
    c,
    dict(pair.partition("=")[::2] for pair in os.environ.get("COURSEWARE_FORMGRADERS", "").split()),
    first_port=SERVICE_PORT + 1,
    unix_accounts=os.environ.get("COURSEWARE_GRADER_UNIX_ACCOUNTS", "0") == "1",
    groups=os.environ.get("COURSEWARE_HUB_GROUPS", "1") != "0",
)

# The LTI 1.3 Advantage tool (marks to the VLE, rosters, deep links), if the VLE is connected.
if os.environ.get("COURSEWARE_LTI_CONFIG"):
    from courseware.lti import lti_service

    lti_service(
        c,
        os.environ["COURSEWARE_LTI_CONFIG"],
        port=int(os.environ.get("COURSEWARE_LTI_PORT", "10099")),
    )
