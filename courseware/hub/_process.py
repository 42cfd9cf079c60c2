"""``courseware hub start`` and ``stop``: the hub in the background, in its own session (no systemd)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ._layout import HubInitError, HubLayout


# -- start and stop -----------------------------------------------------------------------------
def _settings(layout: HubLayout) -> dict[str, str]:
    try:
        return dict(json.loads(layout.settings_file.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise HubInitError(
            f"no hub here ({layout.settings_file} is missing): run `courseware hub init` first"
        ) from None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: a container's first process may never reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def _running_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def start_hub(layout: HubLayout | None = None, *, timeout: float = 120) -> str:
    """Start ``jupyterhub`` in the background (its own session; no systemd) and wait until it answers.

    Returns the hub's URL. Output goes to the log file ``init_hub`` chose.
    """
    layout = layout or HubLayout.from_prefix(None)
    settings = _settings(layout)
    pid_file = Path(settings["pid_file"])
    running = _running_pid(pid_file)
    if running:
        raise HubInitError(
            f"the hub is already running (pid {running}); `courseware hub stop` first"
        )
    log_path = Path(settings["log"])
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [settings["python"], "-m", "jupyterhub", "-f", settings["config"]],
            cwd=settings["state_dir"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = settings["url"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise HubInitError(
                f"jupyterhub exited ({process.returncode}); {log_path} ends:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"{url}/hub/api", timeout=2) as answer:
                if answer.status == 200:
                    return url
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise HubInitError(f"jupyterhub did not answer at {url} within {timeout:.0f} s; see {log_path}")


def stop_hub(layout: HubLayout | None = None, *, timeout: float = 60) -> bool:
    """Stop the hub started by :func:`start_hub` (SIGTERM, as JupyterHub expects); ``False`` if none ran."""
    layout = layout or HubLayout.from_prefix(None)
    pid = _running_pid(Path(_settings(layout)["pid_file"]))
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.3)
    raise HubInitError(f"the hub (pid {pid}) did not stop within {timeout:.0f} s")
