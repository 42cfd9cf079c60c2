"""The LTI tool as a JupyterHub service: the hub starts it and proxies ``/services/courseware-lti/``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["LTI_SERVICE", "lti_service"]

LTI_SERVICE = "courseware-lti"


def lti_service(c: Any, config: str | Path, *, port: int, python: str = sys.executable) -> None:
    """Add the tool to the hub's services (managed: started, and restarted if it dies).

    Its endpoints are public (the VLE's browser posts to them; signed JWTs are the proof), so the
    service asks the hub for no OAuth and no scopes. Set ``tool_url`` in ``lti.json`` to
    ``https://<hub>/services/courseware-lti``.
    """
    from ._config import load_tool_config

    load_tool_config(config)  # a bad lti.json fails the hub's start, not the first launch
    services = c.JupyterHub.services
    c.JupyterHub.services = [
        *(services if isinstance(services, list) else []),
        {
            "name": LTI_SERVICE,
            "url": f"http://127.0.0.1:{port}",
            "command": [
                python,
                "-m",
                "courseware.cli",
                "lti",
                "serve",
                "--config",
                str(Path(config).resolve()),
                "--port",
                str(port),
            ],
            "display": False,
        },
    ]
