"""The bench's own reading of the contract's validation rules, and the storable maximum."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bench import generate
from bench.validation import classify, storable_maximum

VALID = {"apelido": "josé", "nome": "José Roberto", "nascimento": "2000-10-01",
         "stack": ["C#", "Node"]}  # fmt: skip


def body(**changes: Any) -> dict[str, Any]:
    out = dict(VALID)
    for key, value in changes.items():
        if value is _ABSENT:
            out.pop(key)
        else:
            out[key] = value
    return out


_ABSENT = object()


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, 201),
        ({"stack": None}, 201),
        ({"stack": _ABSENT}, 201),
        ({"extra": 1}, 201),  # unknown fields are ignored
        ({"apelido": "a" * 32}, 201),
        ({"apelido": "é" * 32}, 201),  # characters, not bytes
        ({"nascimento": "2024-02-29"}, 201),
        ({"apelido": "a" * 33}, 422),
        ({"apelido": ""}, 422),
        ({"apelido": None}, 422),
        ({"apelido": _ABSENT}, 422),
        ({"nome": "n" * 101}, 422),
        ({"nascimento": "2023-02-29"}, 422),
        ({"nascimento": "2000-13-01"}, 422),
        ({"nascimento": "12-12-2000"}, 422),
        ({"nascimento": "?!?!?"}, 422),
        ({"nascimento": None}, 422),
        ({"stack": [None]}, 422),
        ({"stack": ["1" * 40]}, 422),
        ({"stack": [""]}, 422),
        ({"nome": 1}, 400),
        ({"nascimento": 10}, 400),
        ({"stack": "string"}, 400),
        ({"stack": 1}, 400),
        ({"stack": [1, "PHP"]}, 400),
        ({"apelido": True}, 400),
    ],
)
def test_classify_follows_the_contract(changes: dict[str, Any], status: int) -> None:
    assert classify(body(**changes)) == status


def test_a_body_that_is_not_an_object_is_400() -> None:
    assert classify([VALID]) == 400
    assert classify("x") == 400


def test_storable_maximum_counts_distinct_valid_apelidos_first_wins() -> None:
    bodies = [
        body(apelido="a", nascimento="2000-13-01"),  # invalid: does not take "a"
        body(apelido="a"),  # first valid "a": stored
        body(apelido="a", nome="other"),  # duplicate: refused
        body(apelido="A"),  # case-sensitive: a different apelido
        body(apelido="b", stack="string"),  # 400
        body(apelido="c"),
        body(apelido="d", nome=""),  # 422 only: "d" is never stored
    ]
    assert storable_maximum(bodies) == 3
    assert storable_maximum([]) == 0


def test_storable_maximum_of_the_reference_load_is_about_46500() -> None:
    # The reference test: about 54,635 POSTs are sent, about 46,500 of them valid and unique.
    rng = random.Random("storable")
    sent = [generate.payload(rng) for _ in range(54_635)]
    assert 45_800 <= storable_maximum(sent) <= 47_200
