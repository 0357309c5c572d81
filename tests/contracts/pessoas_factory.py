"""Builds valid pessoas for tests, with distinct apelidos unless told otherwise."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from pessoas.domain.model import Pessoa

_sequence = itertools.count()


def make_pessoa(
    apelido: str | None = None,
    nome: str = "José Roberto",
    nascimento: dt.date = dt.date(2000, 10, 1),
    stack: tuple[str, ...] | None = ("C#", "Node", "Oracle"),
    pessoa_id: uuid.UUID | None = None,
) -> Pessoa:
    return Pessoa(
        id=pessoa_id or uuid.uuid4(),
        apelido=apelido if apelido is not None else f"apelido{next(_sequence)}",
        nome=nome,
        nascimento=nascimento,
        stack=stack,
    )
