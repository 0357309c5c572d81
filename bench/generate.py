"""Seeded generator for the load's input files: 100,000 POST bodies and 5,000 search terms.

It follows the public description of the Rinha de Backend 2023 Q3 resources exactly (the same
distributions as the original generator), but is seeded so two runs of the bench send the same
bytes and their results can be compared.

    python -m bench.generate [--seed 42] [--out bench/data] [--payloads 100000] [--terms 5000]

Writes payloads.jsonl (one JSON body per line) and terms.txt (one term per line).
"""

from __future__ import annotations

import argparse
import random
import string
from pathlib import Path
from typing import Any

import orjson

DEFAULT_DIR = Path(__file__).resolve().parent / "data"
PAYLOADS_FILE = "payloads.jsonl"
TERMS_FILE = "terms.txt"

LETTERS = string.ascii_letters
LETTERS_AND_SPACE = string.ascii_letters + " "

# The list as the reference test gives it, "C#" twice included: the duplicate doubles its weight, and the
# stack length bound (1..26) is len(STACKS) + 1, as in the original generator.
STACKS = [
    "Javascript", "Python", "Go", "Java", "Kotlin", "PHP", "C#", "Swift", "R", "Ruby", "C",
    "C++", "Matlab", "TypeScript", "Scala", "SQL", "HTML", "CSS", "NoSQL", "Rust", "Perl", "C#",
    "Clojure", "MySQL", "Postgres",
]  # fmt: skip

INVALID_NASCIMENTOS: list[Any] = ["12-12-2000", None, 10, "?!?!?"]
INVALID_STACKS: list[Any] = [["1" * 40], "string", 1]

# Each field is independently invalid with probability 1/99 (the original draws from 99 booleans
# of which one is False).
INVALID_PROBABILITY = 1 / 99
# A valid stack is a list with probability 13/14 (14 booleans, one False), otherwise null.
STACK_PROBABILITY = 13 / 14


def _text(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choices(alphabet, k=length))


def apelido(rng: random.Random) -> str:
    if rng.random() < INVALID_PROBABILITY:
        return _text(rng, LETTERS, 35)
    return _text(rng, LETTERS, rng.randint(1, 32))


def nome(rng: random.Random) -> str:
    if rng.random() < INVALID_PROBABILITY:
        return _text(rng, LETTERS_AND_SPACE, 120)
    return _text(rng, LETTERS_AND_SPACE, rng.randint(1, 100))


def nascimento(rng: random.Random) -> Any:
    if rng.random() < INVALID_PROBABILITY:
        return rng.choice(INVALID_NASCIMENTOS)
    # Month up to 13 and day up to 29 on purpose: some valid-looking dates are not real dates.
    return f"{rng.randint(1940, 2020)}-{rng.randint(1, 13):02d}-{rng.randint(1, 29):02d}"


def stack(rng: random.Random) -> Any:
    if rng.random() < INVALID_PROBABILITY:
        return rng.choice(INVALID_STACKS)
    if rng.random() < STACK_PROBABILITY:
        return rng.choices(STACKS, k=rng.randint(1, len(STACKS) + 1))
    return None


def payload(rng: random.Random) -> dict[str, Any]:
    return {"apelido": apelido(rng), "nome": nome(rng), "nascimento": nascimento(rng),
            "stack": stack(rng)}  # fmt: skip


def term(rng: random.Random) -> str:
    # Stripped, so a term made only of spaces becomes empty; "x" keeps it a valid search.
    return _text(rng, LETTERS_AND_SPACE, rng.randint(1, 50)).strip() or "x"


def generate(out: Path, seed: int, payloads: int, terms: int) -> tuple[Path, Path]:
    # Two independent streams, so changing the number of payloads does not change the terms.
    payload_rng = random.Random(f"{seed}:payloads")
    term_rng = random.Random(f"{seed}:terms")
    out.mkdir(parents=True, exist_ok=True)
    payload_path, term_path = out / PAYLOADS_FILE, out / TERMS_FILE
    with payload_path.open("wb") as f:
        for _ in range(payloads):
            f.write(orjson.dumps(payload(payload_rng)) + b"\n")
    with term_path.open("w", encoding="ascii") as f:
        for _ in range(terms):
            f.write(term(term_rng) + "\n")
    return payload_path, term_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--payloads", type=int, default=100_000)
    parser.add_argument("--terms", type=int, default=5_000)
    args = parser.parse_args(argv)
    payload_path, term_path = generate(args.out, args.seed, args.payloads, args.terms)
    print(f"wrote {payload_path} ({args.payloads} payloads) and {term_path} ({args.terms} terms)")


if __name__ == "__main__":
    main()
