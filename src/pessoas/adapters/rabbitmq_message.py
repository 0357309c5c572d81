"""The queue message, defined once for the API's publisher and the worker.

A message is a :class:`dramatiq.Message` addressed to the worker's actor, whose one argument is a
list of pessoas as JSON-simple values (:mod:`pessoas.adapters.pessoa_json`): the API's group
commit puts many pessoas in one message. The publisher builds and encodes it here; the worker's
broker decodes it with dramatiq's ``Message.decode`` and hands the argument to the actor, which
reads the pessoas back here. The names of the queues it travels through are also decided here.

Both sides encode with orjson (:class:`OrjsonEncoder`, installed as dramatiq's encoder by
:func:`use_orjson_encoder`): the publisher encodes on the API's event loop for every message, and
dramatiq's default encoder (the standard library's ``json``) costs more per pessoa. The bytes are
plain JSON either way, so either encoder reads what the other wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dramatiq
import orjson
from dramatiq.common import dq_name, q_name, xq_name

from pessoas.adapters.pessoa_json import pessoa_from_json, pessoa_to_json
from pessoas.domain.model import Pessoa

#: The actor every message is addressed to; the worker declares it under this name.
STORE_ACTOR_NAME = "store_pessoas"


@dataclass(frozen=True, slots=True)
class QueueNames:
    """The three queues of one logical queue, named as dramatiq names them."""

    canonical: str  # where the API publishes and the worker consumes
    delay: str  # where dramatiq's retries wait for their backoff
    dead_letter: str  # where dramatiq would put a message it gives up on (it never does here)

    @classmethod
    def of(cls, queue_name: str) -> QueueNames:
        canonical = q_name(queue_name)
        return cls(canonical=canonical, delay=dq_name(canonical), dead_letter=xq_name(canonical))


class OrjsonEncoder(dramatiq.Encoder):
    def encode(self, data: dramatiq.encoder.MessageData) -> bytes:
        return orjson.dumps(data)

    def decode(self, data: bytes) -> dramatiq.encoder.MessageData:
        # A ValueError here reaches the caller of ``Message.decode`` as dramatiq's DecodeError.
        decoded: dramatiq.encoder.MessageData = orjson.loads(data)
        return decoded


def use_orjson_encoder() -> None:
    """Makes :class:`OrjsonEncoder` dramatiq's encoder in this process (idempotent)."""
    if not isinstance(dramatiq.get_encoder(), OrjsonEncoder):
        dramatiq.set_encoder(OrjsonEncoder())


def batch_message(pessoas: Iterable[Pessoa], queue_name: str) -> dramatiq.Message[Any]:
    """The message that asks the worker to store ``pessoas``."""
    return dramatiq.Message(
        queue_name=q_name(queue_name),
        actor_name=STORE_ACTOR_NAME,
        args=([pessoa_to_json(pessoa) for pessoa in pessoas],),
        kwargs={},
        options={},
    )


def pessoas_of(argument: list[dict[str, Any]]) -> list[Pessoa]:
    """The pessoas of a message, from the argument the actor receives."""
    return [pessoa_from_json(data) for data in argument]


def decode_batch(body: bytes) -> list[Pessoa]:
    """The pessoas of an encoded message (what a queue holds); ValueError if it is not one."""
    message = dramatiq.Message.decode(body)
    if message.actor_name != STORE_ACTOR_NAME:
        raise ValueError(f"a message for {message.actor_name!r}, not {STORE_ACTOR_NAME!r}")
    (argument,) = message.args
    return pessoas_of(argument)
