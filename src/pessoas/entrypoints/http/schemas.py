"""The API's shapes for the interactive docs. The routes read and write JSON themselves
(orjson, no pydantic on the hot path), so these models only describe the contract."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PESSOA_EXAMPLE: dict[str, Any] = {
    "apelido": "josé",
    "nome": "José Roberto",
    "nascimento": "2000-10-01",
    "stack": ["C#", "Node", "Oracle"],
}


class NewPessoa(BaseModel):
    apelido: str = Field(min_length=1, max_length=32, description="unique, case-sensitive")
    nome: str = Field(min_length=1, max_length=100)
    nascimento: dt.date = Field(description="a real calendar date, YYYY-MM-DD")
    stack: list[str] | None = Field(
        default=None, description="each element 1 to 32 characters; null when none"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [PESSOA_EXAMPLE]})


class PessoaOut(NewPessoa):
    id: uuid.UUID


class ErrorOut(BaseModel):
    detail: str
