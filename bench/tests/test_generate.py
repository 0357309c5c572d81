"""The generator must follow the reference test's distributions; these bounds are ~4 standard deviations."""

from __future__ import annotations

import random
import re
from collections import Counter

import orjson
import pytest

from bench import generate

N = 30_000


@pytest.fixture(scope="module")
def payloads() -> list[dict]:
    rng = random.Random("test-payloads")
    return [generate.payload(rng) for _ in range(N)]


def _within(observed: int, p: float, n: int) -> bool:
    sd = (n * p * (1 - p)) ** 0.5
    return abs(observed - n * p) <= 4 * sd + 1


def test_each_field_is_invalid_with_probability_1_in_99(payloads: list[dict]) -> None:
    invalid = Counter()
    for p in payloads:
        invalid["apelido"] += len(p["apelido"]) == 35
        invalid["nome"] += len(p["nome"]) == 120
        invalid["nascimento"] += p["nascimento"] in generate.INVALID_NASCIMENTOS
        invalid["stack"] += p["stack"] in generate.INVALID_STACKS
    for field in ("apelido", "nome", "nascimento", "stack"):
        assert _within(invalid[field], 1 / 99, N), (field, invalid[field])


def test_apelido_is_letters_of_uniform_length_1_to_32(payloads: list[dict]) -> None:
    lengths = Counter(len(p["apelido"]) for p in payloads if len(p["apelido"]) != 35)
    assert set(lengths) == set(range(1, 33))
    # Pearson's chi-square against uniform: 61.1 is the 0.1% critical value for 31 degrees.
    expected = sum(lengths.values()) / 32
    chi2 = sum((count - expected) ** 2 / expected for count in lengths.values())
    assert chi2 < 61.1, lengths
    assert all(re.fullmatch("[A-Za-z]+", p["apelido"]) for p in payloads)


def test_nome_is_letters_and_spaces_1_to_100(payloads: list[dict]) -> None:
    lengths = Counter(len(p["nome"]) for p in payloads if len(p["nome"]) != 120)
    assert min(lengths) == 1
    assert max(lengths) == 100
    assert all(re.fullmatch("[A-Za-z ]+", p["nome"]) for p in payloads)
    # Spaces are 1 character in 53: a nome is not stripped, so some start with one.
    assert any(p["nome"].startswith(" ") for p in payloads)


def test_nascimento_ranges_include_unreal_dates(payloads: list[dict]) -> None:
    valid = [p["nascimento"] for p in payloads if p["nascimento"] not in [None, 10, "?!?!?",
             "12-12-2000"]]  # fmt: skip
    parts = [tuple(int(x) for x in d.split("-")) for d in valid]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in valid)
    assert {y for y, _, _ in parts} == set(range(1940, 2021))
    assert {m for _, m, _ in parts} == set(range(1, 14))
    assert {d for _, _, d in parts} == set(range(1, 30))
    valid_set = set(valid)  # a set: a membership test in the 30,000-item list took 20 s
    invalid = Counter(orjson.dumps(p["nascimento"]) for p in payloads if p["nascimento"] not in valid_set)
    assert set(invalid) == {b'"12-12-2000"', b"null", b"10", b'"?!?!?"'}


def test_stack_is_a_list_13_times_in_14_else_null(payloads: list[dict]) -> None:
    valid = [p["stack"] for p in payloads if p["stack"] not in generate.INVALID_STACKS]
    nulls = sum(s is None for s in valid)
    assert _within(nulls, 1 / 14, len(valid)), nulls
    lists = [s for s in valid if s is not None]
    assert {len(s) for s in lists} == set(range(1, 27))
    assert {item for s in lists for item in s} == set(generate.STACKS)
    # "C#" is listed twice, so it is drawn about twice as often as any other language.
    counts = Counter(item for s in lists for item in s)
    assert 1.7 < counts["C#"] / counts["Go"] < 2.3


def test_terms_are_stripped_letters_and_spaces() -> None:
    rng = random.Random("test-terms")
    terms = [generate.term(rng) for _ in range(20_000)]
    assert all(t == t.strip() and 1 <= len(t) <= 50 for t in terms)
    assert all(re.fullmatch("[A-Za-z ]+", t) for t in terms)
    assert any(" " in t for t in terms)


def test_files_are_seeded_and_one_json_per_line(tmp_path) -> None:
    a, ta = generate.generate(tmp_path / "a", seed=7, payloads=500, terms=50)
    b, tb = generate.generate(tmp_path / "b", seed=7, payloads=500, terms=50)
    c, _ = generate.generate(tmp_path / "c", seed=8, payloads=500, terms=50)
    assert a.read_bytes() == b.read_bytes()
    assert ta.read_bytes() == tb.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    lines = a.read_bytes().splitlines()
    assert len(lines) == 500
    assert all(set(orjson.loads(line)) == {"apelido", "nome", "nascimento", "stack"}
               for line in lines)  # fmt: skip
    assert len(ta.read_text().splitlines()) == 50
