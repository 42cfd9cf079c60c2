"""One autograde worker process: its fork server, nbgrader's API, one student at a time.

Run in the worker processes of :func:`~._autograde.autograde_cohort` (spawned, so this module is
imported afresh in each); a submission whose kernel never started is tried once more.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

from ._course import CourseFolder

WORKER_KILLED = "WorkerKilled"
RETRY_MARKERS = (  # the kernel never started: worth one more try
    "ZMQError",
    "Address already in use",
    "Kernel didn't respond",
    "Kernel died before replying",
)


_API: Any = None


def init_worker(root: str, log_dir: str) -> None:
    """Set up one worker: its fork server, nbgrader's API on the course config, kernels on IPC
    sockets, quiet output. The fork server's socket and log live in ``log_dir``, which the batch
    removes; the server ends when this worker does, however it ends."""
    global _API
    fd = os.open(
        os.path.join(log_dir, f"worker-{os.getpid()}.log"), os.O_WRONLY | os.O_CREAT, 0o600
    )
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    warnings.simplefilter("ignore")
    from ._forkkernel import start_fork_server

    course = CourseFolder.open(root)  # (puts this venv's bin on PATH first, as kernels will see it)
    start_fork_server(log_dir)  # it preloads while this worker imports nbgrader
    from nbgrader.apps import NbGraderAPI

    config = course.config()
    config.KernelManager.transport = "ipc"
    # IPC socket files are "<ip>-<n>"; an absolute, per-worker prefix keeps workers apart and
    # does not depend on the folder the kernel starts in.
    config.KernelManager.ip = os.path.join(log_dir, f"kernel-{os.getpid()}")
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from ._prestart import PrestartedExecute, use_folder

    use_folder(log_dir)

    configured = config.Autograde.get("autograde_preprocessors")
    chain = configured if configured is not None else Autograde.autograde_preprocessors.default()
    config.Autograde.autograde_preprocessors = [
        PrestartedExecute if p is Execute else p for p in chain
    ]
    db_url = str(course.coursedir(config).db_url)
    if db_url.startswith("sqlite:") and "timeout=" not in db_url:  # wait for the lock, never fail
        config.CourseDirectory.db_url = db_url + ("&" if "?" in db_url else "?") + "timeout=120"
    _API = NbGraderAPI(config=config)


def grade_one(assignment: str, student: str) -> dict[str, Any]:
    from ._forkkernel import fork_server, launching_normally, restart_if_dead
    from ._prestart import discard_spares

    start = time.monotonic()
    attempts = 0
    forked = True
    result: dict[str, Any] = {}
    while attempts < 2:
        attempts += 1
        if restart_if_dead():  # its kernels, the spare among them, died with it
            discard_spares()
        server = fork_server() if forked else None
        if forked:
            result = dict(_API.autograde(assignment, student, force=True, create=True))
        else:
            discard_spares()  # they were forked
            with launching_normally():
                result = dict(_API.autograde(assignment, student, force=True, create=True))
        if server is not None and server.killed():
            # The kernels' parent is the fork server: a cell that kills its parent killed it (or
            # something else did; a second try, with a new server, tells which).
            result["success"] = False
            result["error"] = f"{WORKER_KILLED}: the fork server died grading {student}"
            continue
        text = str(result.get("error", "")) + str(result.get("log", ""))
        if result.get("success") or not any(m in text for m in RETRY_MARKERS):
            break
        forked = False  # the kernel did not start: try once more, launched the ordinary way
    result["attempts"] = attempts
    result["seconds"] = time.monotonic() - start
    return result
