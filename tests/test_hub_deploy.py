"""The Kubernetes deployment, checked as far as it can be without a cluster.

What runs: deploy/z2jh/values.yaml against a schema of the chart keys it sets (with the chart's
types; a misspelt key fails); its ``hub.extraConfig`` executed as the chart's jupyterhub_config.py
would, into a traitlets config, then checked with JupyterHub's own role and scope validation;
deploy/z2jh/*.yaml manifests validated against Kubernetes' published schemas
(kubernetes-validate, strict); and the references between them (Secret, volume claim, ports).
What does not: helm template/install, image builds, a cluster, NFS, network policies in force.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from ruamel.yaml import YAML
from traitlets.config import Config

from courseware.hub import CUSTOM_SCOPES, SERVICE_NAME

from conftest import FIXTURES, REPO

Z2JH = REPO / "deploy" / "z2jh"
K8S_VERSION = "1.30.0"


def load(path: Path) -> list[Any]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    (doc,) = load(Z2JH / "values.yaml")
    return dict(doc)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "hub" / "z2jh-values.schema.json").read_text()))


def test_values_match_the_chart_keys(values: dict[str, Any], schema: dict[str, Any]) -> None:
    jsonschema.validate(values, schema)


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        (("singleuser", "storage"), {"extraVolume": []}),  # misspelt key
        (("hub", "service"), {"extraPorts": [{"name": "x"}]}),  # port missing
        (("singleuser",), {"uid": "jovyan"}),  # wrong type
    ],
)
def test_schema_catches_mistakes(
    values: dict[str, Any], schema: dict[str, Any], where: tuple[str, ...], bad: dict[str, Any]
) -> None:
    broken = copy.deepcopy(values)
    node = broken
    for key in where:
        node = node[key]
    node.update(bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def hub_config(values: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Config:
    """Run hub.extraConfig as the chart does: in name order, with ``c`` and hub.extraEnv set."""
    database = "postgresql://courseware:from-the-secret@courseware-db:5432/courseware"
    for name, value in values["hub"]["extraEnv"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else database)
    c = Config()
    c.JupyterHub.services = []  # the chart sets these lists before extraConfig runs
    c.JupyterHub.load_roles = []
    for _, code in sorted(values["hub"]["extraConfig"].items()):
        exec(compile(code, "hub.extraConfig", "exec"), {"c": c, "os": os})
    return c


def test_extra_config_declares_service_roles_and_learner_store(
    values: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyterhub import roles, scopes

    c = hub_config(values, monkeypatch)
    (service,) = [s for s in c.JupyterHub.services if s["name"] == SERVICE_NAME]
    assert service["url"] == "http://hub:10101"
    assert service["environment"]["COURSEWARE_SERVICE_IP"] == "0.0.0.0"
    assert "from-the-secret" in service["environment"]["COURSEWARE_DATABASE_URL"]
    store = c.Spawner.environment["COURSEWARE_STORE"]
    assert store == f"courseware+http://hub:10101/services/{SERVICE_NAME}/"
    assert "from-the-secret" not in json.dumps(dict(c.Spawner.environment))
    scopes.define_custom_scopes(CUSTOM_SCOPES)
    for role in c.JupyterHub.load_roles:
        roles._validate_role_name(role["name"])
        scopes._check_scopes_exist(role["scopes"], who_for=role["name"])
    names = {role["name"] for role in c.JupyterHub.load_roles}
    assert {"courseware-tutor-mbchb-y3", "courseware-seminar-pgcert-empathy"} <= names
    assert "nbgrader-mbchb-y3" in c.JupyterHub.load_groups


def test_manifests_are_valid_kubernetes_objects() -> None:
    checked = 0
    for path in sorted(Z2JH.glob("*.yaml")):
        if path.name == "values.yaml":
            continue
        for doc in load(path):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            checked += 1
    assert checked >= 5


def test_values_and_manifests_agree(
    values: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = {
        (d["kind"], d["metadata"]["name"]): d
        for p in Z2JH.glob("*.yaml")
        if p.name != "values.yaml"
        for d in load(p)
    }
    ref = values["hub"]["extraEnv"]["COURSEWARE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    secret = objects[("Secret", ref["name"])]
    assert ref["key"] in secret["stringData"]
    assert secret["stringData"]["url"].startswith("postgresql://")
    (volume,) = values["singleuser"]["storage"]["extraVolumes"]
    claim = objects[("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    (mount,) = values["singleuser"]["storage"]["extraVolumeMounts"]
    assert mount["mountPath"] == values["singleuser"]["extraEnv"]["NBGRADER_EXCHANGE"]
    port = int(hub_config(values, monkeypatch).JupyterHub.services[-1]["url"].rsplit(":", 1)[1])
    assert values["hub"]["service"]["extraPorts"][0]["port"] == port
    assert values["hub"]["networkPolicy"]["ingress"][0]["ports"] == [{"port": port}]
    assert values["singleuser"]["networkPolicy"]["egress"][0]["ports"] == [{"port": port}]
