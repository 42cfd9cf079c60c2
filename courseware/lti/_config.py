"""The tool's settings: its own key pair and the VLEs (platforms) registered with it.

A deployer writes ``lti.json`` (see docs/deployment.md, "LTI 1.3 Advantage")::

    {
      "tool_url": "https://hub.example.ac.uk/services/courseware-lti",
      "private_key": "lti-keys/private.pem",
      "public_key": "lti-keys/public.pem",
      "state": "lti-state.sqlite",
      "platforms": [{
        "issuer": "https://vle.example.ac.uk",
        "client_id": "...", "deployment_ids": ["..."],
        "auth_login_url": "...", "auth_token_url": "...", "key_set_url": "..."
      }]
    }

Relative paths are read from the file's folder. Errors name the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import CoursewareError

__all__ = ["LtiError", "Platform", "ToolConfig", "generate_keys", "load_tool_config"]


class LtiError(CoursewareError):
    """A problem with the LTI tool's settings or with a VLE's answer, said plainly."""


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/") if value.endswith("/") else value


class Platform(BaseModel):
    """One VLE registration: what the VLE gave when the tool was registered in it."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(description="the VLE's issuer (platform id), the id_token's `iss`")
    client_id: str = Field(min_length=1, description="the client id the VLE gave the tool")
    deployment_ids: list[str] = Field(min_length=1, description="the tool's deployment ids")
    auth_login_url: str = Field(description="the VLE's OIDC authorisation endpoint")
    auth_token_url: str = Field(description="the VLE's OAuth2 token endpoint (services)")
    key_set_url: str = Field(description="the VLE's public keys (JWKS)")
    auth_audience: str | None = Field(None, description="token audience, if not the token URL")

    _urls = field_validator("issuer", "auth_login_url", "auth_token_url", "key_set_url")(
        classmethod(lambda cls, v: _http_url(v))
    )


class ToolConfig(BaseModel):
    """The tool's settings (``lti.json``)."""

    model_config = ConfigDict(extra="forbid")

    tool_url: str = Field(description="where the tool is served: login, launch, jwks below it")
    private_key: Path = Field(description="the tool's RSA private key (PEM), never shared")
    public_key: Path = Field(description="its public key (PEM), published at <tool_url>/jwks")
    state: Path = Field(Path("lti-state.sqlite"), description="the tool's ledger (SQLite)")
    platforms: list[Platform] = Field(min_length=1)
    curriculum: Path | None = Field(
        None, description="the course repository's folder (modules/, courses/) for deep links"
    )
    hub: str | None = Field(None, description="the hub's address for links (else courseware.yaml)")
    repository: str | None = Field(None, description="the course repository learners pull")
    branch: str | None = Field(None, description="its branch")
    username_key: str = Field(
        "user_id",
        description="the NRPS member field that is the hub user name and nbgrader student id "
        "(user_id is the launch's `sub`, as deploy/lti13_config.py names hub users)",
    )

    _url = field_validator("tool_url")(classmethod(lambda cls, v: _http_url(v).rstrip("/")))

    def platform(self, issuer: str, client_id: str | None = None) -> Platform:
        for p in self.platforms:
            if p.issuer == issuer and (client_id is None or p.client_id == client_id):
                return p
        raise LtiError(f"no platform with issuer {issuer!r} in the tool's settings")

    def url(self, path: str) -> str:
        return f"{self.tool_url}/{path.lstrip('/')}"

    def private_pem(self) -> str:
        return self.private_key.read_text()

    def public_pem(self) -> str:
        return self.public_key.read_text()

    def pylti_config(self) -> Any:
        """pylti1p3's tool configuration, with this tool's keys for every platform."""
        from pylti1p3.tool_config import ToolConfDict

        data: dict[str, Any] = {}
        for p in self.platforms:
            data.setdefault(p.issuer, []).append(
                {
                    "default": not data.get(p.issuer),
                    "client_id": p.client_id,
                    "auth_login_url": p.auth_login_url,
                    "auth_token_url": p.auth_token_url,
                    "auth_audience": p.auth_audience,
                    "key_set_url": p.key_set_url,
                    "key_set": None,
                    "deployment_ids": p.deployment_ids,
                }
            )
        conf = ToolConfDict(data)
        private, public = self.private_pem(), self.public_pem()
        for p in self.platforms:
            conf.set_private_key(p.issuer, private, client_id=p.client_id)
            conf.set_public_key(p.issuer, public, client_id=p.client_id)
        return conf


def load_tool_config(path: str | Path) -> ToolConfig:
    """Read and check ``lti.json``; relative paths are taken from its folder."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LtiError(f"{path}: cannot read the LTI settings ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise LtiError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    try:
        config = ToolConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise LtiError(f"{path}: {problems}") from None
    base = path.resolve().parent
    updates = {
        name: base / getattr(config, name)
        for name in ("private_key", "public_key", "state", "curriculum")
        if getattr(config, name) is not None and not getattr(config, name).is_absolute()
    }
    config = config.model_copy(update=updates)
    for name in ("private_key", "public_key"):
        if not getattr(config, name).is_file():
            raise LtiError(
                f"{path}: {name}: no file {getattr(config, name)} "
                "(make a key pair with `courseware lti keys DIR`)"
            )
    return config


def generate_keys(folder: str | Path) -> tuple[Path, Path]:
    """A new 2048-bit RSA key pair for the tool: ``private.pem`` (mode 600) and ``public.pem``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / "private.pem", folder / "public.pem"
    if private.exists():
        raise LtiError(f"{private} exists: keep it, or move it away to make a new pair")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private.touch(mode=0o600)
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public
