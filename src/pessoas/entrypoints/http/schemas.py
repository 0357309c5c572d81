"""The API's shapes for the interactive docs. The routes read and write JSON themselves
(orjson, no pydantic on the hot path), so these models only describe the contract; every limit
comes from the domain, where it is enforced.

The routes refer to ``NewPessoa`` and ``Error`` by name (``#/components/schemas/...``): they are
not the model of any FastAPI parameter or response, so :func:`document_schemas` adds them to the
OpenAPI document, the way FastAPI's "Extending OpenAPI" describes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, RootModel

from pessoas.domain.model import APELIDO_MAX, NOME_MAX, SEARCH_LIMIT, STACK_ITEM_MAX

NEW_PESSOA_EXAMPLE: dict[str, Any] = {
    "apelido": "josé",
    "nome": "José Roberto",
    "nascimento": "2000-10-01",
    "stack": ["C#", "Node", "Oracle"],
}
PESSOA_EXAMPLE: dict[str, Any] = {"id": "f7379ae8-8f9b-4cd5-8221-51efe19e721b", **NEW_PESSOA_EXAMPLE}

# Every string refuses NUL (no text column stores it).
NO_NUL = r"^[^\x00]*$"

StackItem = Annotated[str, Field(min_length=1, max_length=STACK_ITEM_MAX, pattern=NO_NUL)]


class NewPessoa(BaseModel):
    apelido: str = Field(
        min_length=1, max_length=APELIDO_MAX, pattern=NO_NUL, description="unique, case-sensitive"
    )
    nome: str = Field(min_length=1, max_length=NOME_MAX, pattern=NO_NUL)
    nascimento: dt.date = Field(description="a real calendar date, YYYY-MM-DD")
    stack: list[StackItem] | None = Field(default=None, description="null or absent when none")

    model_config = ConfigDict(json_schema_extra={"examples": [NEW_PESSOA_EXAMPLE]})


class Pessoa(NewPessoa):
    id: uuid.UUID

    model_config = ConfigDict(json_schema_extra={"examples": [PESSOA_EXAMPLE]})


class SearchResults(RootModel[list[Pessoa]]):
    root: list[Pessoa] = Field(max_length=SEARCH_LIMIT)


class Error(BaseModel):
    detail: str


def document_schemas(app: FastAPI) -> None:
    """Adds the schemas the routes refer to by name to ``app``'s OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        named = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (NewPessoa, Error):
            named.setdefault(model.__name__, model.model_json_schema(ref_template=_REF))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_REF = "#/components/schemas/{model}"
