"""A course's formgrader service: jupyterhub-singleuser with nbgrader and the marking view.

The hub starts this (``python -m courseware.hub._formgrader``) for each course in
:func:`courseware.hub.formgrader_services`. nbgrader's ``JupyterHubAuthPlugin`` looks the
course up through the grader account named in ``JUPYTERHUB_USER``; the hub sets that variable
only for a service run as a Unix account, so otherwise it is taken from
``COURSEWARE_GRADER_ACCOUNT``. The server loads the courseware marking view
(:mod:`courseware.grading._marking_web`) beside nbgrader's formgrader; learners' servers never do.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from jupyterhub.singleuser.extension import JupyterHubSingleUser

MARKING_EXTENSION = "courseware.grading._marking_web"


class FormgraderServer(JupyterHubSingleUser):  # type: ignore[misc]
    """jupyterhub-singleuser, plus the marking view."""

    name = "courseware-formgrader"

    @classmethod
    def make_serverapp(cls, **kwargs: Any) -> Any:
        serverapp = super().make_serverapp(**kwargs)
        serverapp.jpserver_extensions[MARKING_EXTENSION] = True
        return serverapp


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__, "app": FormgraderServer}]


def main(argv: list[str] | None = None) -> None:
    """Start the formgrader server (arguments as for ``jupyterhub-singleuser``)."""
    if not os.environ.get("JUPYTERHUB_USER"):
        account = os.environ.get("COURSEWARE_GRADER_ACCOUNT", "")
        if not account:
            sys.exit("COURSEWARE_GRADER_ACCOUNT (the course's grader account) is not set")
        os.environ["JUPYTERHUB_USER"] = account
    FormgraderServer.launch_instance(argv)


if __name__ == "__main__":
    main()
