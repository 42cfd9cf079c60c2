"""The courseware JupyterHub service: the shared store behind the hub, with roles.

Run by the hub (``python -m courseware.hub``); learners' kernels reach it through
:class:`courseware.store.ServiceStore`. This package imports JupyterHub and tornado, so it is
never imported into a learner's kernel.
"""

from ._app import ROUTES, BatchWriter, FairShare, ServiceState, make_app, visible_to_others
from ._config import configure_hub, formgrader_services, grader_account
from ._db import MIGRATIONS, Database, SchemaTooNew, open_database
from ._init import (
    HubInitError,
    HubLayout,
    check_learners_can_run,
    database_url,
    deploy_file,
    init_hub,
    parse_modules_option,
    start_hub,
    stop_hub,
)
from ._lti import lti_course, lti_groups
from ._main import main, migrate, serve
from ._roles import (
    COHORT_AGGREGATES,
    COHORT_READ,
    CUSTOM_SCOPES,
    LEARNER,
    POLLS_RUN,
    SERVICE_NAME,
    Permissions,
    course_groups,
    course_roles,
    hub_roles,
)

__all__ = [
    "COHORT_AGGREGATES",
    "COHORT_READ",
    "CUSTOM_SCOPES",
    "LEARNER",
    "MIGRATIONS",
    "POLLS_RUN",
    "ROUTES",
    "SERVICE_NAME",
    "BatchWriter",
    "Database",
    "FairShare",
    "HubInitError",
    "HubLayout",
    "Permissions",
    "SchemaTooNew",
    "ServiceState",
    "check_learners_can_run",
    "configure_hub",
    "course_groups",
    "course_roles",
    "database_url",
    "deploy_file",
    "formgrader_services",
    "grader_account",
    "hub_roles",
    "init_hub",
    "lti_course",
    "lti_groups",
    "main",
    "make_app",
    "migrate",
    "open_database",
    "parse_modules_option",
    "serve",
    "start_hub",
    "stop_hub",
    "visible_to_others",
]
