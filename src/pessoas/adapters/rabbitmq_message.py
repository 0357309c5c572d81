"""The queue message, defined once for the API's publisher and the worker.

A message is a :class:`dramatiq.Message` addressed to the worker's actor, whose one argument is a
list of ids of committed pessoas to index for search (the API announces a batch of commits in one
message). The publisher builds and encodes it here; the worker's broker decodes it with dramatiq's
``Message.decode`` and hands the argument to the actor, which reads the ids back here. The names
of the queues it travels through are also decided here.

Both sides encode with orjson (:class:`OrjsonEncoder`, installed as dramatiq's encoder by
:func:`use_orjson_encoder`): the publisher encodes on the API's event loop for every message, and
dramatiq's default encoder (the standard library's ``json``) costs more per pessoa. The bytes are
plain JSON either way, so either encoder reads what the other wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dramatiq
import orjson
from dramatiq.common import dq_name, q_name, xq_name

from pessoas.adapters.pessoa_json import pessoa_from_json
from pessoas.domain.model import Pessoa

#: The actor every message is addressed to; the worker declares it under this name.
INDEX_ACTOR_NAME = "index_pessoas"
#: The previous version's actor, whose messages carry whole pessoas already promised (201) and
#: not yet stored: the worker still consumes them, so an upgrade loses none.
QUEUED_PESSOAS_ACTOR_NAME = "store_pessoas"


@dataclass(frozen=True, slots=True)
class QueueNames:
    """The three queues of one logical queue, named as dramatiq names them."""

    canonical: str  # where the API publishes and the worker consumes
    delay: str  # where dramatiq's retries wait for their backoff
    dead_letter: str  # where a message goes once the worker's retries give up on it

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


def index_message(ids: Iterable[uuid.UUID], queue_name: str) -> dramatiq.Message[Any]:
    """The message that asks the worker to make these committed pessoas searchable."""
    return dramatiq.Message(
        queue_name=q_name(queue_name),
        actor_name=INDEX_ACTOR_NAME,
        args=([str(pessoa_id) for pessoa_id in ids],),
        kwargs={},
        options={},
    )


def ids_of(argument: object) -> list[uuid.UUID]:
    """The ids of a message, from the argument the actor receives; ValueError if it holds none.

    A message that is not a list of UUIDs can never succeed: the worker's retries give up on it
    and it is dead-lettered (its pessoas, if any, are indexed by the reconciler).
    """
    if not isinstance(argument, list) or not all(isinstance(item, str) for item in argument):
        raise ValueError(f"an index message carries a list of ids, not {argument!r:.80}")
    return [uuid.UUID(item) for item in argument]


def pessoas_of(argument: object) -> list[Pessoa]:
    """The pessoas of a previous version's message; ValueError if it holds none."""
    if not isinstance(argument, list) or not all(isinstance(item, dict) for item in argument):
        raise ValueError(f"a queued-pessoas message carries a list of pessoas, not {argument!r:.80}")
    try:
        return [pessoa_from_json(item) for item in argument]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a pessoa: {exc}") from exc


def decode_index_message(body: bytes) -> list[uuid.UUID]:
    """The ids of an encoded message (what a queue holds); ValueError if it is not one."""
    message = dramatiq.Message.decode(body)
    if message.actor_name != INDEX_ACTOR_NAME:
        raise ValueError(f"a message for {message.actor_name!r}, not {INDEX_ACTOR_NAME!r}")
    (argument,) = message.args
    return ids_of(argument)
