"""The API's shapes for the interactive docs. The routes read and write JSON themselves
(orjson, no pydantic on the hot path), so these models only describe the contract; every limit
comes from the domain, where it is enforced."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from pessoas.domain.model import APELIDO_MAX, NOME_MAX, SEARCH_LIMIT, STACK_ITEM_MAX

NEW_PESSOA_EXAMPLE: dict[str, Any] = {
    "apelido": "josé",
    "nome": "José Roberto",
    "nascimento": "2000-10-01",
    "stack": ["C#", "Node", "Oracle"],
}
PESSOA_EXAMPLE: dict[str, Any] = {"id": "f7379ae8-8f9b-4cd5-8221-51efe19e721b", **NEW_PESSOA_EXAMPLE}

StackItem = Annotated[str, Field(min_length=1, max_length=STACK_ITEM_MAX)]


class NewPessoa(BaseModel):
    apelido: str = Field(min_length=1, max_length=APELIDO_MAX, description="unique, case-sensitive")
    nome: str = Field(min_length=1, max_length=NOME_MAX)
    nascimento: dt.date = Field(description="a real calendar date, YYYY-MM-DD")
    stack: list[StackItem] | None = Field(default=None, description="null or absent when none")

    model_config = ConfigDict(json_schema_extra={"examples": [NEW_PESSOA_EXAMPLE]})


class PessoaOut(NewPessoa):
    id: uuid.UUID

    model_config = ConfigDict(json_schema_extra={"examples": [PESSOA_EXAMPLE]})


class SearchResults(RootModel[list[PessoaOut]]):
    root: list[PessoaOut] = Field(max_length=SEARCH_LIMIT)


class ErrorOut(BaseModel):
    detail: str
