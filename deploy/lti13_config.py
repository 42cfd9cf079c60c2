"""LTI 1.3 sign-in from the university's LMS, mapping course roles to hub groups.

Use instead of ``jupyterhub_config.py`` (it loads that file first)::

    jupyterhub -f deploy/lti13_config.py

Register the hub as an LTI 1.3 tool in the LMS (Moodle, Canvas, Blackboard, ...) with the
launch URL ``https://<hub>/hub/lti13/oauth_callback``, the login URL ``https://<hub>/hub/lti13/oauth_login``
and the JSON config ``https://<hub>/hub/lti13/config``, then set the values the LMS gives you in
the hub's environment:

* ``LTI13_CLIENT_ID`` — the client id the LMS assigned to the tool,
* ``LTI13_ISSUER`` — the LMS's issuer (platform id), e.g. ``https://vle.example.ac.uk``,
* ``LTI13_AUTHORIZE_URL`` — the LMS's OIDC authorisation endpoint,
* ``LTI13_JWKS_URL`` — the LMS's public key set.

Each launch comes from one LMS course (its ``context``). :func:`courseware.hub.lti_groups` puts
a Learner in ``nbgrader-<course>``, an Instructor in ``formgrade-<course>`` (tutors, graders)
and ``seminar-leads-<course>``, a TeachingAssistant or Grader in ``formgrade-<course>``, and a
Mentor in ``seminar-leads-<course>``; groups from the person's other courses are kept. Courses
created this way still need their roles: list them in ``COURSEWARE_COURSES``.
"""

import os
from pathlib import Path

from courseware.hub import lti_groups

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

load_subconfig(str(Path(__file__).with_name("jupyterhub_config.py")))  # noqa: F821
# The LMS owns group membership: JupyterHub's load_groups and manage_groups don't mix.
c.JupyterHub.pop("load_groups", None)

c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
c.LTI13Authenticator.client_id = [os.environ.get("LTI13_CLIENT_ID", "")]
c.LTI13Authenticator.issuer = os.environ.get("LTI13_ISSUER", "")
c.LTI13Authenticator.authorize_url = os.environ.get("LTI13_AUTHORIZE_URL", "")
c.LTI13Authenticator.jwks_endpoint = os.environ.get("LTI13_JWKS_URL", "")
# A stable, opaque id rather than an e-mail address: pseudonymous by default.
c.LTI13Authenticator.username_key = "sub"
c.Authenticator.allow_all = True  # everyone the LMS launches is a learner somewhere
c.Authenticator.enable_auth_state = True  # requires JUPYTERHUB_CRYPT_KEY in the environment
c.Authenticator.manage_groups = True


def lti_post_auth_hook(authenticator, handler, auth_model):
    """Give the person the groups of their part in this course; keep their other courses'."""
    user = handler.find_user(auth_model["name"])
    current = [group.name for group in user.groups] if user is not None else []
    auth_model["groups"] = lti_groups(auth_model.get("auth_state") or {}, current)
    return auth_model


c.Authenticator.post_auth_hook = lti_post_auth_hook
