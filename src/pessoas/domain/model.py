"""The Pessoa entity and the rules a new pessoa must follow.

The classification of bad input happens here, once for the whole service:
a value of the wrong JSON type makes the input *unreadable* (HTTP 400),
a value of the right type that breaks a rule makes it *invalid* (HTTP 422).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from pessoas.domain.errors import InvalidPessoa, UnreadablePessoa

APELIDO_MAX = 32
NOME_MAX = 100
STACK_ITEM_MAX = 32
SEARCH_LIMIT = 50

# NUL is refused in every string: no text column can store it, so a pessoa holding one could be
# acknowledged but never stored.
#
# Exactly four digits, dash, two digits, dash, two digits: ``date.fromisoformat`` alone would
# also accept forms such as ``20230101`` or ``2023-W01-1`` on Python 3.11.
_NASCIMENTO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

# Python's str.lower() applies Unicode's full mapping, which differs from the simple one-to-one
# mapping in exactly two places: "İ" becomes two code points, and a capital sigma ending a word
# becomes the final small sigma. Mapping those two first leaves lower() nothing else to do apart.
_SIMPLE_ONLY = str.maketrans({"\u0130": "i", "\u03a3": "\u03c3"})


def fold_case(text: str) -> str:
    """Lower-cases each character on its own (Unicode's simple mapping): one character in, one out.

    This is what "compared case-insensitively" means for search, and what PostgreSQL's lower()
    does under a UTF-8 ctype: "İ" is "i", and a capital sigma is always the ordinary small
    sigma (U+03C3), never the final one (U+03C2).
    """
    return text.translate(_SIMPLE_ONLY).lower()


@dataclass(frozen=True, slots=True)
class Pessoa:
    """A stored (or about to be stored) pessoa. Built only through :func:`new_pessoa` or trusted storage."""

    id: uuid.UUID
    apelido: str
    nome: str
    nascimento: dt.date
    stack: tuple[str, ...] | None

    def matches(self, term: str) -> bool:
        """True when ``term`` is contained, case-insensitively, within one single field."""
        needle = fold_case(term)
        if needle in fold_case(self.apelido) or needle in fold_case(self.nome):
            return True
        return self.stack is not None and any(needle in fold_case(item) for item in self.stack)


def _required_string(field: str, value: str | None, maximum: int) -> str:
    if value is None:
        raise InvalidPessoa(f"{field} is required")
    if not value:
        raise InvalidPessoa(f"{field} must not be empty")
    if len(value) > maximum:
        raise InvalidPessoa(f"{field} must have at most {maximum} characters")
    if "\x00" in value:
        raise InvalidPessoa(f"{field} must not contain the NUL character")
    return value


def _nascimento(value: str | None) -> dt.date:
    text = _required_string("nascimento", value, 10)
    if not _NASCIMENTO_SHAPE.fullmatch(text):
        raise InvalidPessoa("nascimento must be a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidPessoa("nascimento must be a real calendar date") from None


def _stack(body: dict[str, Any]) -> tuple[str, ...] | None:
    value = body.get("stack")
    if value is None:
        return None
    if not isinstance(value, list):
        raise UnreadablePessoa("stack must be an array of strings or null")
    # Every type is checked before any rule, so that [1, null] is unreadable, not invalid.
    for item in value:
        if item is not None and not isinstance(item, str):
            raise UnreadablePessoa("every element of stack must be a string")
    for item in value:
        if item is None:
            raise InvalidPessoa("stack must not contain null")
        if not item:
            raise InvalidPessoa("an element of stack must not be empty")
        if len(item) > STACK_ITEM_MAX:
            raise InvalidPessoa(f"an element of stack must have at most {STACK_ITEM_MAX} characters")
        if "\x00" in item:
            raise InvalidPessoa("an element of stack must not contain the NUL character")
    return tuple(value)


def new_pessoa(body: object) -> Pessoa:
    """Reads a request body (already decoded from JSON) into a new pessoa, or says why it cannot.

    Type errors are looked for across all fields before any rule is applied, so the answer
    does not depend on the order in which fields happen to be checked.
    """
    if not isinstance(body, dict):
        raise UnreadablePessoa("the body must be a JSON object")
    strings: dict[str, str | None] = {}
    for field in ("apelido", "nome", "nascimento"):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            raise UnreadablePessoa(f"{field} must be a string")
        strings[field] = value
    stack = _stack(body)
    apelido = _required_string("apelido", strings["apelido"], APELIDO_MAX)
    nome = _required_string("nome", strings["nome"], NOME_MAX)
    nascimento = _nascimento(strings["nascimento"])
    return Pessoa(
        id=uuid.uuid4(),
        apelido=apelido,
        nome=nome,
        nascimento=nascimento,
        stack=stack,
    )
