"""A learner's kernel never loads the server-side extras (``hub``, ``analytics``; see README).

The learners' image installs the courseware without them, so any import of jupyterhub, psycopg,
scikit-learn, pingouin or scipy on a learner's path would fail there. This walks that path in a
fresh interpreter: every module of the curriculum opened and each of its widgets built, the
learner's progress, an assessed notebook's imports, and the hub store's client saving and reading
through its outbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SERVER_SIDE = ("jupyterhub", "psycopg", "psycopg_pool", "sklearn", "pingouin", "scipy")

LEARNER_PATH = r"""
import json, sys
from pathlib import Path

import courseware as cw
from courseware.content import find_modules

built = 0
for folder in find_modules(Path(sys.argv[1]) / "modules"):
    module = cw.open_module(folder)
    content = module.content
    module.overview(); module.references(); module.portfolio()
    for vignette in content.vignettes:
        module.vignette(vignette)
        if content.after_case_file(vignette).is_file():
            module.after_case(vignette)
    for reflection in content.spec.reflections:
        module.reflection(reflection.id)
    for exercise in content.exercises:
        module.exercise(exercise)
    if content.spec.self_check:
        module.self_check()
    built += 1
cw.my_progress()

from courseware.grading import check_saved, grade_item, open_assessment  # assessed notebooks
from courseware.feedback import Coding  # a coding sent back by the service

from courseware.store import Event, MockTransport, Response, ServiceStore

def service(request):
    if request.method == "POST":
        return Response.of(200, {"ids": list(range(1, len(request.json()["events"]) + 1))})
    return Response.of(200, {"events": []})

store = ServiceStore(
    "courseware+http://hub.invalid/services/courseware/",
    token="t", user="ana", outbox=sys.argv[2], transport=MockTransport(service),
)
assert store.append(Event("ana", "m", "r", "reflection.draft", {"text": "hi"}, 0.0)) == 1
store.events(learner="ana")
store.close()

roots = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"modules": built, "imported": roots}))
"""


def test_a_learners_path_loads_no_server_side_package(tmp_path: Path) -> None:
    env = os.environ | {
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "COURSEWARE_STORE": str(tmp_path / "responses.sqlite"),
        "PYTHONPATH": str(REPO),
    }
    env.pop("JUPYTERHUB_API_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-c", LEARNER_PATH, str(REPO), str(tmp_path / "outbox.sqlite")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["modules"] >= 30  # the whole curriculum was walked, not an empty folder
    assert "courseware" in found["imported"] and "ipywidgets" in found["imported"]
    assert [name for name in SERVER_SIDE if name in found["imported"]] == []
