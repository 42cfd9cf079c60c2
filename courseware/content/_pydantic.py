"""The pydantic base for server-side files (instruments, survey mappings, evaluation set-ups).

These never load in a learner's kernel, so they use pydantic models directly; the content a kernel
loads is written as dataclasses instead (see ``_schema``).
"""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
