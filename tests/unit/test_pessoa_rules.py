"""Every row of the contract's field table and status list, as rules of the domain.

``UnreadablePessoa`` becomes HTTP 400 and ``InvalidPessoa`` HTTP 422, so each case here pins
the status the API answers with.
"""

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pessoas.adapters.pessoa_json import pessoa_from_json, pessoa_to_json
from pessoas.domain.errors import InvalidPessoa, UnreadablePessoa
from pessoas.domain.model import new_pessoa

VALID = {"apelido": "josé", "nome": "José Roberto", "nascimento": "2000-10-01", "stack": ["C#", "Node"]}


def with_(**changes):
    body = dict(VALID)
    body.update(changes)
    return body


def without(field):
    body = dict(VALID)
    del body[field]
    return body


def test_a_valid_body_becomes_a_pessoa():
    pessoa = new_pessoa(VALID)
    assert pessoa.apelido == "josé"
    assert pessoa.nome == "José Roberto"
    assert pessoa.nascimento == dt.date(2000, 10, 1)
    assert pessoa.stack == ("C#", "Node")
    assert isinstance(pessoa.id, uuid.UUID)


def test_each_pessoa_gets_its_own_id():
    assert new_pessoa(VALID).id != new_pessoa(VALID).id


@pytest.mark.parametrize(
    "body",
    [
        with_(stack=None),
        without("stack"),
        with_(stack=[]),
        with_(apelido="a" * 32),
        with_(apelido="ç" * 32),  # 32 characters, 64 bytes
        with_(nome="n" * 100),
        with_(stack=["x" * 32]),
        with_(nascimento="2024-02-29"),  # a leap day
        with_(extra="ignored", another={"nested": 1}),
        with_(apelido=" "),  # whitespace is a character
    ],
)
def test_valid_bodies(body):
    new_pessoa(body)


@pytest.mark.parametrize(
    "body",
    [
        without("apelido"),
        without("nome"),
        without("nascimento"),
        with_(apelido=None),
        with_(nome=None),
        with_(nascimento=None),
        with_(apelido=""),
        with_(nome=""),
        with_(apelido="a" * 33),
        with_(apelido="ç" * 33),
        with_(nome="n" * 101),
        with_(nascimento="2023-02-29"),
        with_(nascimento="2000-13-01"),
        with_(nascimento="2000-00-10"),
        with_(nascimento="2000-01-32"),
        with_(nascimento="12-12-2000"),
        with_(nascimento="?!?!?"),
        with_(nascimento="20001001"),
        with_(nascimento="2000-1-1"),
        with_(nascimento="2000-10-01T00:00"),
        with_(nascimento=""),
        with_(nascimento="0000-01-01"),
        with_(nascimento="\uff12\uff10\uff10\uff10-10-01"),  # fullwidth digits
        with_(stack=[None]),
        with_(stack=["PHP", None]),
        with_(stack=[""]),
        with_(stack=["1111111111111111111111111111111111111111"]),
        with_(apelido="a\x00b"),
        with_(nome="\x00"),
        with_(stack=["Go\x00"]),
    ],
)
def test_bodies_that_break_a_rule_are_invalid(body):
    with pytest.raises(InvalidPessoa):
        new_pessoa(body)


@pytest.mark.parametrize(
    "body",
    [
        "not an object",
        ["a", "list"],
        42,
        None,
        with_(apelido=1),
        with_(nome=1),
        with_(nome=True),
        with_(nascimento=10),
        with_(nascimento=["2000-10-01"]),
        with_(stack="PHP"),
        with_(stack=1),
        with_(stack={"a": "b"}),
        with_(stack=[1, "PHP"]),
        with_(stack=[["PHP"]]),
        with_(stack=[1, None]),  # a wrong type wins over a broken rule
        with_(apelido=1, nome=None),
        with_(nome=None, stack="PHP"),
    ],
)
def test_bodies_of_the_wrong_shape_are_unreadable(body):
    with pytest.raises(UnreadablePessoa):
        new_pessoa(body)


def test_unreadable_and_invalid_are_distinct_classes():
    assert not issubclass(UnreadablePessoa, InvalidPessoa)
    assert not issubclass(InvalidPessoa, UnreadablePessoa)


# Property-based: random bodies never escape the two outcomes, and the classification holds.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.sampled_from(["apelido", "nome", "nascimento", "stack", "x"]), json_values))
def test_any_json_object_is_a_pessoa_or_a_clear_refusal(body):
    try:
        pessoa = new_pessoa(body)
    except (UnreadablePessoa, InvalidPessoa):
        return
    assert 1 <= len(pessoa.apelido) <= 32
    assert 1 <= len(pessoa.nome) <= 100
    assert pessoa.nascimento.isoformat() == body["nascimento"]


@given(
    field=st.sampled_from(["apelido", "nome", "nascimento"]),
    value=st.integers() | st.booleans() | st.floats(allow_nan=False) | st.lists(st.text()),
)
def test_a_non_string_required_field_is_unreadable(field, value):
    with pytest.raises(UnreadablePessoa):
        new_pessoa(with_(**{field: value}))


@given(st.dates(min_value=dt.date(1, 1, 1)))
def test_every_real_date_is_accepted(day):
    assert new_pessoa(with_(nascimento=day.isoformat())).nascimento == day


@given(year=st.integers(1000, 9999), month=st.integers(0, 99), day=st.integers(0, 99))
def test_a_date_is_accepted_exactly_when_the_calendar_has_it(year, month, day):
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        real = dt.date(year, month, day)
    except ValueError:
        real = None
    if real is None:
        with pytest.raises(InvalidPessoa):
            new_pessoa(with_(nascimento=text))
    else:
        assert new_pessoa(with_(nascimento=text)).nascimento == real


@given(st.text(min_size=1, max_size=40))
def test_apelido_length_is_counted_in_characters(apelido):
    if len(apelido) <= 32 and "\x00" not in apelido:
        assert new_pessoa(with_(apelido=apelido)).apelido == apelido
    else:
        with pytest.raises(InvalidPessoa):
            new_pessoa(with_(apelido=apelido))


@given(st.lists(st.text(max_size=40), max_size=30))
def test_stack_elements_must_have_1_to_32_characters(stack):
    if all(1 <= len(item) <= 32 and "\x00" not in item for item in stack):
        assert new_pessoa(with_(stack=stack)).stack == tuple(stack)
    else:
        with pytest.raises(InvalidPessoa):
            new_pessoa(with_(stack=stack))


def test_a_pessoa_survives_its_dict_form():
    pessoa = new_pessoa(VALID)
    assert pessoa_from_json(pessoa_to_json(pessoa)) == pessoa
    no_stack = new_pessoa(with_(stack=None))
    assert pessoa_from_json(pessoa_to_json(no_stack)) == no_stack


@pytest.mark.parametrize(
    ("term", "expected"),
    [("JOSÉ", True), ("node", True), ("c#", True), ("Roberto", True), ("éJos", False), ("C#Node", False)],
)
def test_matching_is_within_one_field_and_ignores_case(term, expected):
    assert new_pessoa(VALID).matches(term) is expected
