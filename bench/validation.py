"""The contract's acceptance rules for a POST /pessoas body, re-implemented for the bench.

The bench must not import the service (src/): it judges the service, so it needs its own,
independent reading of the contract. It is used to compute the "storable maximum" (how many
pessoas a perfect service could have stored from the payloads actually sent) and by the fake
server used to self-test the load tool.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

# [0-9] rather than \d: \d also matches non-ASCII digits, which the contract's YYYY-MM-DD does not allow.
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

CREATED = 201
UNPROCESSABLE = 422
BAD_REQUEST = 400


def classify(body: Any) -> int:
    """The status the contract gives to a decoded JSON body, ignoring apelido uniqueness.

    400 when the body cannot be read as a pessoa (not an object, a field of the wrong JSON type),
    422 when it can be read but breaks a rule, 201 when it is acceptable.
    """
    if not isinstance(body, dict):
        return BAD_REQUEST
    # Type errors are 400 and win over rule errors (422), so check every field's type first.
    for field in ("apelido", "nome", "nascimento"):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            return BAD_REQUEST
    stack = body.get("stack")
    if stack is not None:
        if not isinstance(stack, list):
            return BAD_REQUEST
        # A null element is a rule error (422), any other non-string element a type error.
        if any(item is not None and not isinstance(item, str) for item in stack):
            return BAD_REQUEST
    apelido, nome, nascimento = body.get("apelido"), body.get("nome"), body.get("nascimento")
    if apelido is None or not 1 <= len(apelido) <= 32:
        return UNPROCESSABLE
    if nome is None or not 1 <= len(nome) <= 100:
        return UNPROCESSABLE
    if nascimento is None or not _is_real_date(nascimento):
        return UNPROCESSABLE
    if stack is not None and any(item is None or not 1 <= len(item) <= 32 for item in stack):
        return UNPROCESSABLE
    return CREATED


def _is_real_date(text: str) -> bool:
    if _DATE_RE.fullmatch(text) is None:
        return False
    try:
        dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def storable_maximum(bodies: Iterable[Any]) -> int:
    """How many of these bodies, sent in this order, a perfect service would store.

    A body counts when it is valid and its apelido was not already taken by an earlier valid
    body: the first occurrence wins, exactly as the service's uniqueness rule would decide.
    """
    taken: set[str] = set()
    for body in bodies:
        if classify(body) == CREATED:
            taken.add(body["apelido"])
    return len(taken)
