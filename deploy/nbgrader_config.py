"""nbgrader for several courses on one hub: install as /etc/jupyter/nbgrader_config.py.

Every learner's server (and each course's formgrader) reads this. Courses are JupyterHub groups,
as nbgrader's multi-course setup expects: ``nbgrader-<course>`` for learners and
``formgrade-<course>`` for graders. The exchange is one shared folder (on Kubernetes, a
ReadWriteMany volume mounted at the same path in every pod); with ``path_includes_course``,
each course's assignments live under their own course id, so two courses may both have a
"week-1".
"""

import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.path_includes_course = True
# Which courses a learner may list, fetch from and submit to comes from their hub groups.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
