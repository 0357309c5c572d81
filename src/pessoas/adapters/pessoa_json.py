"""A pessoa as JSON-simple values, the shape the cache entries and the queue messages carry.

Conversion lives here, at the edge that needs it, so the domain stays free of any wire format.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pessoas.domain.model import Pessoa


def pessoa_to_json(pessoa: Pessoa) -> dict[str, Any]:
    """The pessoa as the API shows it: the five contract fields, JSON-simple values only."""
    return {
        "id": str(pessoa.id),
        "apelido": pessoa.apelido,
        "nome": pessoa.nome,
        "nascimento": pessoa.nascimento.isoformat(),
        "stack": list(pessoa.stack) if pessoa.stack is not None else None,
    }


def pessoa_from_json(data: dict[str, Any]) -> Pessoa:
    """Rebuilds a pessoa written by :func:`pessoa_to_json` (trusted: it was validated before)."""
    stack = data.get("stack")
    return Pessoa(
        id=uuid.UUID(data["id"]),
        apelido=data["apelido"],
        nome=data["nome"],
        nascimento=dt.date.fromisoformat(data["nascimento"]),
        stack=tuple(stack) if stack is not None else None,
    )
